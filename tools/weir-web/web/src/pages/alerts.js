// alerts.js -- what weir-alertd is alerting on now, and what it recorded:
// /api/alerts (the active alerts, critical first, then the newest
// engaged) and /api/alerts/history (engaged, updated, released; newest
// first). alertsTable is also the dashboard's and the host page's list.
import * as api from '../api.js';
import { time } from '../fmt.js';
import { clear, h, hostLink, section, table } from '../dom.js';

const SEVERITIES = ['critical', 'warning', 'info'];
const HISTORY_COUNT = 100;

export function severity(s) {
	return h('span', { class: SEVERITIES.includes(s) ? 'sev sev-' + s : 'sev' }, s || '?');
}

// A host id in an entity (IP@VLAN, host:IP@VLAN, IP@VLAN/APP) links to
// the host page; other entities (address pairs, subnets) are text.
export function entity(e) {
	const m = /^(?:host:)?([0-9A-Fa-f.:]+)@(\d+)(?:\/.*)?$/.exec(e || '');
	return m ? hostLink(m[1], m[2], e) : (e || '');
}

export function alertsTable(id, rows, empty) {
	return table(id, [
		{ label: 'ID', value: (x) => x.id, num: true },
		{ label: 'Severity', value: (x) => severity(x.severity) },
		{ label: 'Rule', value: (x) => x.rule },
		{ label: 'Entity', value: (x) => entity(x.entity) },
		{ label: 'Engaged', value: (x) => time(x.engaged_ms) },
		{ label: 'Updated', value: (x) => time(x.updated_ms) },
		{ label: 'Count', value: (x) => x.count, num: true },
		{ label: 'Summary', value: (x) => x.summary, cls: 'wrap' },
	], rows, empty);
}

export default function alerts(main) {
	const current = h('div'), history = h('div');
	main.append(h('h1', {}, 'Alerts'),
		section('Active now', current),
		section('History (last ' + HISTORY_COUNT + ' transitions)', history));

	async function refresh() {
		const [a, hi] = await Promise.all([api.get('alerts'),
			api.get('alerts/history', { count: HISTORY_COUNT })]);
		clear(current).append(alertsTable('alerts-current', a.alerts, 'No active alerts.'));
		clear(history).append(table('alerts-history', [
			{ label: 'Time', value: (x) => time(x.ts) },
			{ label: 'State', value: (x) => x.state },
			{ label: 'Alert', value: (x) => x.id, num: true },
			{ label: 'Severity', value: (x) => severity(x.severity) },
			{ label: 'Rule', value: (x) => x.rule },
			{ label: 'Entity', value: (x) => entity(x.entity) },
			{ label: 'Value', value: (x) => (x.value ?? ''), num: true },
			{ label: 'Summary', value: (x) => x.summary, cls: 'wrap' },
		], hi.history, 'No alert has been recorded (weir-alertd writes alerts:history).'));
	}

	return { refresh };
}
