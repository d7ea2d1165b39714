// health.js -- the engine itself: what it reads, whether it publishes,
// and every counter of its health hash, losses first.
import * as api from '../api.js';
import { age, bytes, count, time } from '../fmt.js';
import { clear, h, section, table } from '../dom.js';

const LOSS = /^(drop_|rx_missed|rx_nombuf|flow_table_full|flow_ring_drops|dpi_pool_full|dpi_msg_drops|publish_errors|publish_lost|collect_kernel_drops|collect_ring_full|collect_no_mbuf|collect_too_big|xflow_errors|frag_unmatched|events_dropped|agg_alloc_failed|dist_drops|exporters_full)/;

export default function health(main) {
	const meta = h('div'), nodes = h('div'), losses = h('div'), all = h('div');
	main.append(h('h1', {}, 'Engine health'), section('Engine', meta), section('Nodes', nodes),
		section('Losses and refusals', losses), section('All counters', all));

	async function refresh() {
		const s = await api.get('status');
		const m = s.meta || {};
		const row = (k, v) => h('tr', {}, h('th', {}, k), h('td', {}, v));
		const hl = s.health || {};
		clear(meta).append(h('table', { id: 'engine-meta', class: 'kv' }, h('tbody', {},
			row('Node', s.node),
			row('State', s.published ? m.state : 'nothing published'),
			row('Source', m.source || '-'),
			row('Started', time(m.started_ms)),
			row('Last publish', s.published ? time(m.updated_ms) + ' (' + age(s.now_ms - m.updated_ms) + ' ago)' : '-'),
			row('Cycle', m.cycle ?? '-'),
			row('Workers', hl.workers ?? '-'),
			row('Memory', hl.mem_resident ? bytes(hl.mem_resident) + ' resident' : '-'),
			row('Time series / events / ended flows', ['timeseries', 'events', 'flows_ended'].map((k) => (s.features[k] ? 'yes' : 'no')).join(' / ')))));
		// Several engines merged: one line each (their counters add up below).
		clear(nodes).append(table('nodes', [
			{ label: 'Node', value: (n) => n.node },
			{ label: 'State', value: (n) => (n.published && n.meta ? n.meta.state : 'nothing published') },
			{ label: 'Source', value: (n) => (n.meta && n.meta.source) || '-' },
			{ label: 'Last publish', value: (n) => (n.meta && n.meta.updated_ms ? age(s.now_ms - n.meta.updated_ms) + ' ago' : '-') },
			{ label: 'Cycle', value: (n) => (n.meta ? String(n.meta.cycle ?? '-') : '-'), num: true },
		], s.nodes || [], 'No node has published.'));
		const entries = Object.entries(hl);
		const lossRows = entries.filter(([k, v]) => LOSS.test(k) && Number(v) > 0);
		clear(losses).append(table('losses', [
			{ label: 'Counter', value: (x) => x[0] },
			{ label: 'Value', value: (x) => count(x[1]), num: true },
		], lossRows, 'Nothing lost or refused.'));
		clear(all).append(table('health-table', [
			{ label: 'Counter', value: (x) => x[0] },
			{ label: 'Value', value: (x) => String(x[1]), num: true },
		], entries, 'The engine has published no health counters.'));
	}

	return { refresh };
}
