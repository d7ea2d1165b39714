// exporters.js -- NetFlow/IPFIX/sFlow exporters and their interfaces.
import * as api from '../api.js';
import { bytes, count, time } from '../fmt.js';
import { clear, h, section, table } from '../dom.js';

export default function exporters(main) {
	const ex = h('div'), ifs = h('div');
	main.append(h('h1', {}, 'Exporters and interfaces'), section('Exporters', ex), section('Interfaces', ifs));

	async function refresh() {
		const [e, i] = await Promise.all([api.get('exporters'), api.get('interfaces')]);
		clear(ex).append(table('exporters-table', [
			{ label: 'Exporter', value: (x) => x.address },
			{ label: 'Version', value: (x) => x.version, num: true },
			{ label: 'Datagrams', value: (x) => count(x.datagrams), num: true },
			{ label: 'Records', value: (x) => count(x.records), num: true },
			{ label: 'Bytes', value: (x) => bytes(x.bytes), num: true },
			{ label: 'Sampling', value: (x) => x.sampling, num: true },
			{ label: 'Seq. lost', value: (x) => count(x.seq_lost), num: true },
			{ label: 'Errors', value: (x) => count(x.errors), num: true },
			{ label: 'Last seen', value: (x) => time(x.last_seen) },
		], e.exporters, 'No flow exporters (weir reads packets here, or none has sent yet).'));
		clear(ifs).append(table('interfaces-table', [
			{ label: 'Exporter', value: (x) => x.exporter },
			{ label: 'ifIndex', value: (x) => x.ifindex, num: true },
			{ label: 'Name', value: (x) => x.name || '' },
			{ label: 'In', value: (x) => bytes(x.bytes_in), num: true },
			{ label: 'Out', value: (x) => bytes(x.bytes_out), num: true },
			{ label: 'Speed', value: (x) => (x.speed ? count(x.speed) : ''), num: true },
			{ label: 'Errors in/out', value: (x) => (x.in_errors ?? '') + ' / ' + (x.out_errors ?? ''), num: true },
		], i.interfaces, 'No interfaces reported.'));
	}

	return { refresh };
}
