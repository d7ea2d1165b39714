// vlans.js -- VLANs, the subnet pairs, and two matrices drawn as
// heatmaps: VLAN x VLAN (each flow placed by its ends' home VLANs, see
// /api/vlans?form=matrix in docs/api.md) and subnet x subnet. A row is
// where flows started, a column where they went; the colour grows with
// the log of the bytes.
import * as api from '../api.js';
import { bytes, count, time } from '../fmt.js';
import { clear, h, section, table } from '../dom.js';

// m: {rows, cols, cells (bytes), row_totals, and for VLANs cells_pkts,
// cells_flows}; name(x) labels a row or column.
function heatmap(id, m, name, empty) {
	if (!m.rows.length)
		return h('p', { class: 'empty', id }, empty);
	const max = Math.max(...m.cells.flat(), 1);
	return h('table', { id, class: 'heatmap' },
		h('thead', {}, h('tr', {}, h('th', {}, 'from \\ to'), m.cols.map((c) => h('th', {}, name(c))), h('th', {}, 'total'))),
		h('tbody', {}, m.rows.map((r, i) => h('tr', {}, h('th', {}, name(r)),
			m.cells[i].map((b, k) => {
				const td = h('td', { class: 'num', title: name(r) + ' → ' + name(m.cols[k]) + ': ' + b + ' bytes', 'data-bytes': b,
					'data-pkts': m.cells_pkts ? m.cells_pkts[i][k] : null,
					'data-flows': m.cells_flows ? m.cells_flows[i][k] : null }, b ? bytes(b) : '');
				if (b) {
					const a = 0.12 + 0.88 * (Math.log(b) / Math.log(max));
					td.style.background = 'rgba(214, 69, 65,' + a.toFixed(3) + ')';
					if (a > 0.6) td.style.color = '#fff';
				}
				return td;
			}), h('td', { class: 'num total' }, bytes(m.row_totals[i]))))));
}

export default function vlans(main) {
	const vl = h('div'), mx = h('div'), vmx = h('div'), pairs = h('div');
	main.append(h('h1', {}, 'VLANs and subnets'), section('VLANs', vl),
		h('div', { class: 'grid2' },
			section('Across VLANs: bytes of flows from hosts whose home is a row\u2019s VLAN to a column\u2019s', vmx),
			section('Who talks to whom: bytes of flows from a row\u2019s subnet to a column\u2019s', mx)),
		section('Subnet pairs', pairs));

	async function refresh() {
		const [v, m, vm, p] = await Promise.all([api.get('vlans'), api.get('subnets', { form: 'matrix' }),
			api.get('vlans', { form: 'matrix' }), api.get('subnets')]);
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
		clear(mx).append(heatmap('matrix', m, (x) => x, 'No subnet pairs yet.'));
		clear(vmx).append(heatmap('vlan-matrix', vm, (x) => 'VLAN ' + x, 'No flows held yet.'));
		if (vm.truncated || vm.axis_truncated)
			vmx.append(h('p', { class: 'muted', id: 'vlan-matrix-bounded' },
				(vm.truncated ? 'Only the first ' + count(vm.flows_examined) + ' flows were read (a bound of the server). ' : '') +
				(vm.axis_truncated ? 'Only the busiest VLANs are drawn.' : '')));
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
