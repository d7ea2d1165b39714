// flows.js -- every flow weir holds, filtered (host, VLAN, subnet,
// application, port, state: active or recently ended), sorted and paged by the server, and the flows that
// ended most recently. The filters live in the URL (#/flows?vlan=30), so a
// filtered view can be bookmarked or linked from another page.
import * as api from '../api.js';
import { bytes, bps, duration, proto, time } from '../fmt.js';
import { clear, errorBox, h, hostLink, section, table } from '../dom.js';

const FILTERS = ['host', 'vlan', 'subnet', 'app', 'port'];
const SORTS = ['bytes', 'pkts', 'throughput', 'duration', 'first_seen', 'last_seen', 'src', 'dst', 'vlan', 'app'];

export default function flows(main, params) {
	const state = {};
	for (const k of [...FILTERS, 'state', 'sort', 'order', 'page'])
		if (params.get(k)) state[k] = params.get(k);

	const inputs = {};
	const form = h('form', { id: 'flow-filters', class: 'filters' },
		FILTERS.map((k) => h('label', {}, k, inputs[k] = h('input', { name: k, value: state[k] || '', size: k === 'host' ? 18 : 8 }))),
		h('label', {}, 'state', inputs.state = h('select', { name: 'state' }, [['', 'all held'], ['active', 'active'], ['ended', 'ended']].map(([v, t]) =>
			h('option', { value: v, selected: v === (state.state || '') }, t)))),
		h('label', {}, 'sort', inputs.sort = h('select', { name: 'sort' }, SORTS.map((s) => h('option', { value: s, selected: s === (state.sort || 'bytes') }, s)))),
		h('label', {}, 'order', inputs.order = h('select', { name: 'order' }, ['desc', 'asc'].map((s) => h('option', { value: s, selected: s === (state.order || 'desc') }, s)))),
		h('button', { type: 'submit' }, 'Apply'),
		h('button', { type: 'button', onclick: () => { location.hash = '#/flows'; } }, 'Clear'));
	form.addEventListener('submit', (ev) => {
		ev.preventDefault();
		const q = new URLSearchParams();
		for (const [k, el] of Object.entries(inputs))
			if (el.value.trim()) q.set(k, el.value.trim());
		location.hash = '#/flows?' + q;
	});
	const info = h('p', { id: 'flows-info', class: 'muted' });
	const list = h('div'), pager = h('div', { class: 'pager' }), recent = h('div');
	main.append(h('h1', {}, 'Flows'), form, section('Flows held', info, list, pager), section('Recently ended', recent));

	function go(page) {
		const q = new URLSearchParams(state);
		q.set('page', page);
		location.hash = '#/flows?' + q;
	}

	async function refresh() {
		let f;
		try {
			f = await api.get('flows', { ...state, per_page: 50 });
		} catch (e) {
			if (e.status === 401) return;
			clear(list).append(errorBox(e));
			clear(info);
			return;
		}
		info.textContent = f.matched + ' flows match' + (f.truncated ? ' (bounded: narrow the filter)' : '') +
			' · page ' + f.page + ' of ' + Math.max(1, f.pages) + ' · ' + (f.mode === 'index' ? 'from the flow index' :
				f.mode === 'mixed' ? 'from the flow index where a node keeps one' : 'scanned');
		info.dataset.matched = String(f.matched);
		info.dataset.query = new URLSearchParams(state).toString();
		// Several engines merged: each flow says which node holds it.
		const nodeCol = (rows) => (rows.some((x) => x.node) ? [{ label: 'Node', value: (x) => x.node }] : []);
		clear(list).append(table('flows-table', [
			...nodeCol(f.flows),
			{ label: 'Source', value: (x) => hostLink(x.src, x.vlan) },
			{ label: 'Port', value: (x) => x.sport, num: true },
			{ label: 'Destination', value: (x) => hostLink(x.dst, x.vlan) },
			{ label: 'Port', value: (x) => x.dport, num: true },
			{ label: 'Proto', value: (x) => proto(x.proto) },
			{ label: 'VLAN', value: (x) => x.vlan, num: true },
			{ label: 'Application', value: (x) => x.app + (x.server_name ? ' (' + x.server_name + ')' : '') },
			{ label: 'Bytes', value: (x) => bytes(x.bytes), num: true },
			{ label: 'Pkts', value: (x) => x.pkts, num: true },
			{ label: 'Throughput', value: (x) => bps(x.bps), num: true },
			{ label: 'Duration', value: (x) => duration(x.duration_ms), num: true },
			{ label: 'State', value: (x) => x.state + (x.end_reason ? ' (' + x.end_reason + ')' : '') },
		], f.flows, 'No flow matches.'));
		clear(pager);
		if (f.page > 1) pager.append(h('button', { type: 'button', id: 'prev', onclick: () => go(f.page - 1) }, '← previous'));
		if (f.page < f.pages) pager.append(h('button', { type: 'button', id: 'next', onclick: () => go(f.page + 1) }, 'next →'));
		const r = await api.get('flows/recent', { count: 20 });
		clear(recent).append(table('recent-flows', [
			...nodeCol(r.flows),
			{ label: 'Ended', value: (x) => time(x.last_seen) },
			{ label: 'Source', value: (x) => x.src + ':' + x.sport },
			{ label: 'Destination', value: (x) => x.dst + ':' + x.dport },
			{ label: 'VLAN', value: (x) => x.vlan, num: true },
			{ label: 'Application', value: (x) => x.app || '' },
			{ label: 'Bytes', value: (x) => bytes(x.bytes), num: true },
			{ label: 'Reason', value: (x) => x.end_reason || '' },
		], r.flows, 'No ended flows yet (the engine does not publish flows:ended yet, or none ended).'));
	}

	return { refresh };
}
