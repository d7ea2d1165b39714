// host.js -- one host (address on a VLAN): its totals, the alerts about
// it, bandwidth over 1 h / 24 h / 7 d, the applications it used, the DNS
// names it asked for, and who it talks to.
import * as api from '../api.js';
import { RateChart } from '../chart.js';
import { bytes, bps, count, time } from '../fmt.js';
import { bar, clear, errorBox, h, hostLink, section, table } from '../dom.js';
import { alertsTable } from './alerts.js';

const RANGES = { '1h': ['1s', 3600], '24h': ['1m', 86400], '7d': ['5m', 604800] };

export default function host(main, params) {
	const ip = params.get('ip') || '';
	const vlan = params.get('vlan');
	let range = params.get('range') || '1h';
	if (!RANGES[range]) range = '1h';
	const title = h('h1', {}, 'Host ', ip);
	const summary = h('div'), vlans = h('p', { class: 'muted' }), chartBox = h('div');
	const apps = h('div'), dns = h('div'), peers = h('div'), alerts = h('div');
	const buttons = h('div', { class: 'ranges' }, Object.keys(RANGES).map((r) =>
		h('button', { type: 'button', id: 'range-' + r, class: r === range ? 'active' : null, onclick: () => {
			const q = new URLSearchParams(params);
			q.set('range', r);
			location.hash = '#/host?' + q;
		} }, r)));
	main.append(title, vlans, summary, section('Alerts', alerts), section('Bandwidth', buttons, chartBox),
		h('div', { class: 'grid2' }, section('Applications', apps), section('DNS names asked', dns)),
		section('Peers', peers));
	const chart = new RateChart(chartBox, ip, 'host-chart');

	async function refresh() {
		let d;
		try {
			d = await api.get('host', { ip, vlan });
		} catch (e) {
			if (e.status !== 401) clear(summary).append(errorBox(e));
			return;
		}
		const x = d.host;
		title.textContent = 'Host ' + x.ip + ' on VLAN ' + x.vlan;
		clear(vlans).append('Seen on VLAN' + (d.vlans.length > 1 ? 's ' : ' '),
			...d.vlans.flatMap((v, i) => [i ? ', ' : '', v === x.vlan ? h('b', {}, v) : hostLink(x.ip, v, String(v))]));
		const row = (k, v) => h('tr', {}, h('th', {}, k), h('td', {}, v));
		clear(summary).append(h('table', { id: 'host-summary', class: 'kv' }, h('tbody', {},
			row('Subnet', (x.subnet || '') + (x.local ? ' (local)' : '')),
			row('MAC', x.mac || ''),
			row('Sent', bytes(x.bytes_sent) + ' in ' + count(x.pkts_sent) + ' packets'),
			row('Received', bytes(x.bytes_rcvd) + ' in ' + count(x.pkts_rcvd) + ' packets'),
			row('Total bytes', String(x.bytes)),
			row('Rate now', bps((x.bps_sent || 0) + (x.bps_rcvd || 0))),
			row('Flows', count(x.flows) + ' (' + count(x.flows_active) + ' active)'),
			row('Peers', count(d.peers_count)),
			row('First seen', time(x.first_seen)),
			row('Last seen', time(x.last_seen)))));
		const al = await api.get('alerts', { host: x.ip, vlan: x.vlan });
		clear(alerts).append(alertsTable('host-alerts', al.alerts, 'No active alerts about this host.'));
		const [res, last] = RANGES[range];
		const ts = await api.get('timeseries', { entity: 'host:' + x.ip + '@' + x.vlan, res, last });
		chart.set(ts, 'No time series for this host yet (the engine does not publish ts:* keys yet, or it was idle).');
		const maxA = d.apps.reduce((a, y) => Math.max(a, y.bytes), 0);
		clear(apps).append(table('host-apps', [
			{ label: 'Application', value: (y) => y.name },
			{ label: 'Bytes', value: (y) => bytes(y.bytes), num: true },
			{ label: '', value: (y) => bar(y.bytes, maxA) },
		], d.apps, 'No applications.'));
		clear(dns).append(table('host-dns', [
			{ label: 'Name', value: (y) => y.name },
			{ label: 'Times', value: (y) => y.count, num: true },
			{ label: 'Last', value: (y) => time(y.last_ms) },
		], d.dns, 'No DNS queries from this host.'));
		clear(peers).append(table('host-peers', [
			{ label: 'Peer', value: (y) => hostLink(y.addr, x.vlan) },
			{ label: 'Bytes', value: (y) => bytes(y.bytes), num: true },
			{ label: 'Flows', value: (y) => y.flows, num: true },
			{ label: 'Flows list', value: (y) => h('a', { href: '#/flows?' + new URLSearchParams({ host: x.ip, vlan: x.vlan }) }, 'flows') },
		], d.peers, 'No flows held for this host.'));
	}

	return { refresh, destroy: () => chart.destroy() };
}
