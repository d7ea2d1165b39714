// vlans.js -- VLANs, the subnet pairs, and the cross-subnet matrix drawn
// as a heatmap: a row is where flows started, a column where they went;
// the colour grows with the log of the bytes.
import * as api from '../api.js';
import { bytes, count, time } from '../fmt.js';
import { clear, h, section, table } from '../dom.js';

export default function vlans(main) {
	const vl = h('div'), mx = h('div'), pairs = h('div');
	main.append(h('h1', {}, 'VLANs and subnets'), section('VLANs', vl),
		section('Who talks to whom: bytes of flows from a row\u2019s subnet to a column\u2019s', mx),
		section('Subnet pairs', pairs));

	async function refresh() {
		const [v, m, p] = await Promise.all([api.get('vlans'), api.get('subnets', { form: 'matrix' }), api.get('subnets')]);
		clear(vl).append(table('vlans-table', [
			{ label: 'VLAN', value: (x) => (x.vlan === 0 ? '0 (untagged)' : x.vlan) },
			{ label: 'Bytes', value: (x) => bytes(x.bytes), num: true },
			{ label: 'Exact bytes', value: (x) => x.bytes, num: true },
			{ label: 'Packets', value: (x) => count(x.pkts), num: true },
			{ label: 'Flows', value: (x) => count(x.flows), num: true },
			{ label: 'Hosts', value: (x) => count(x.hosts), num: true },
			{ label: 'Flows list', value: (x) => h('a', { href: '#/flows?vlan=' + x.vlan }, 'flows') },
			{ label: 'Last seen', value: (x) => time(x.last_seen) },
		], v.vlans, 'No VLANs yet.'));
		clear(mx);
		if (!m.rows.length) {
			mx.append(h('p', { class: 'empty', id: 'matrix' }, 'No subnet pairs yet.'));
		} else {
			const max = Math.max(...m.cells.flat(), 1);
			const t = h('table', { id: 'matrix', class: 'heatmap' },
				h('thead', {}, h('tr', {}, h('th', {}, 'from \\ to'), m.cols.map((c) => h('th', {}, c)), h('th', {}, 'total'))),
				h('tbody', {}, m.rows.map((r, i) => h('tr', {}, h('th', {}, r),
					m.cells[i].map((b, k) => {
						const td = h('td', { class: 'num', title: r + ' → ' + m.cols[k] + ': ' + b + ' bytes', 'data-bytes': b },
							b ? bytes(b) : '');
						if (b) {
							const a = 0.12 + 0.88 * (Math.log(b) / Math.log(max));
							td.style.background = 'rgba(214, 69, 65,' + a.toFixed(3) + ')';
							if (a > 0.6) td.style.color = '#fff';
						}
						return td;
					}), h('td', { class: 'num total' }, bytes(m.row_totals[i]))))));
			mx.append(t);
		}
		clear(pairs).append(table('pairs-table', [
			{ label: 'From', value: (x) => x.src },
			{ label: 'To', value: (x) => x.dst },
			{ label: 'Bytes', value: (x) => bytes(x.bytes), num: true },
			{ label: 'Forward', value: (x) => bytes(x.bytes_fwd), num: true },
			{ label: 'Reverse', value: (x) => bytes(x.bytes_rev), num: true },
			{ label: 'Flows', value: (x) => count(x.flows), num: true },
			{ label: 'Flows list', value: (x) => h('a', { href: '#/flows?' + new URLSearchParams({ subnet: x.src + '>' + x.dst }) }, 'flows') },
		], p.subnets, 'No subnet pairs yet.'));
	}

	return { refresh };
}
