// dashboard.js -- the page people open every day: throughput over time
// (the engine's series), headline numbers, top hosts, applications,
// categories and VLANs, and alerts with the latest events.
import * as api from '../api.js';
import { RateChart } from '../chart.js';
import { bytes, bps, count, time } from '../fmt.js';
import { bar, clear, errorBox, h, hostLink, section, table } from '../dom.js';
import { alertsTable } from './alerts.js';

export default function dashboard(main) {
	const cards = h('div', { class: 'stats', id: 'headline' });
	const chartBox = h('div');
	const hosts = h('div'), apps = h('div'), cats = h('div'), vlans = h('div'), alerts = h('div');
	main.append(
		h('h1', {}, 'Dashboard'), cards,
		section('Throughput (last hour)', chartBox),
		h('div', { class: 'grid2' },
			section('Top hosts', hosts),
			section('Top VLANs', vlans)),
		h('div', { class: 'grid2' },
			section('Top applications', apps),
			section('Top categories', cats)),
		section('Alerts and events', alerts));
	const chart = new RateChart(chartBox, 'engine', 'throughput-chart');

	function stat(label, value, id) {
		return h('div', { class: 'stat', id }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label));
	}

	async function refresh() {
		const [st, hs, ap, ca, vl, al, ev, ts] = await Promise.all([
			api.get('status'), api.get('hosts', { top: 10 }), api.get('apps', { top: 10 }),
			api.get('categories', { top: 10 }), api.get('vlans', { top: 10 }), api.get('alerts'),
			api.get('events', { count: 10 }),
			api.get('timeseries', { entity: 'engine', res: '1s', last: 3600 }),
		]);
		const hl = st.health || {};
		clear(cards).append(
			stat('hosts', count(st.counts.hosts), 'stat-hosts'),
			stat('flows held', count(st.counts.flows), 'stat-flows'),
			stat('frames', count(hl.rx_pkts || 0), 'stat-frames'),
			stat('bytes', bytes(hl.rx_bytes || 0), 'stat-bytes'),
			stat('rate now', bps(hl.rx_bps || 0), 'stat-rate'),
			stat('VLANs', count(st.counts.vlans), 'stat-vlans'));
		chart.set(ts, st.features && st.features.timeseries ? 'No traffic in the last hour.' :
			'No time series yet: this engine does not publish ts:* keys (docs/redis-keys.md).');
		const totalH = hs.hosts.reduce((a, x) => Math.max(a, x.bytes), 0);
		clear(hosts).append(table('top-hosts', [
			{ label: 'Host', value: (x) => hostLink(x.ip, x.vlan) },
			{ label: 'VLAN', value: (x) => x.vlan, num: true },
			{ label: 'Subnet', value: (x) => x.subnet || '' },
			{ label: 'Sent', value: (x) => bytes(x.bytes_sent), num: true },
			{ label: 'Received', value: (x) => bytes(x.bytes_rcvd), num: true },
			{ label: 'Total', value: (x) => bytes(x.bytes), num: true },
			{ label: '', value: (x) => bar(x.bytes, totalH) },
		], hs.hosts, 'No hosts yet.'));
		const appTable = (id, rows, name) => {
			const max = rows.reduce((a, x) => Math.max(a, x.bytes), 0);
			return table(id, [
				{ label: name, value: (x) => x.name },
				...(id === 'top-apps' ? [{ label: 'Category', value: (x) => x.category || '' }] : []),
				{ label: 'Bytes', value: (x) => bytes(x.bytes), num: true },
				{ label: 'Flows', value: (x) => count(x.flows), num: true },
				{ label: '', value: (x) => bar(x.bytes, max) },
			], rows, 'No applications yet.');
		};
		clear(apps).append(appTable('top-apps', ap.apps, 'Application'));
		clear(cats).append(appTable('top-categories', ca.categories, 'Category'));
		const maxV = vl.vlans.reduce((a, x) => Math.max(a, x.bytes), 0);
		clear(vlans).append(table('top-vlans', [
			{ label: 'VLAN', value: (x) => (x.vlan === 0 ? '0 (untagged)' : x.vlan) },
			{ label: 'Bytes', value: (x) => bytes(x.bytes), num: true },
			{ label: 'Hosts', value: (x) => count(x.hosts), num: true },
			{ label: 'Flows', value: (x) => count(x.flows), num: true },
			{ label: '', value: (x) => bar(x.bytes, maxV) },
		], vl.vlans, 'No VLANs yet.'));
		clear(alerts).append(
			alertsTable('alerts', al.alerts, 'No active alerts.'),
			h('h3', {}, 'Latest events'),
			table('events', [
				{ label: 'Time', value: (x) => time(x.ts) },
				{ label: 'Type', value: (x) => x.type },
				{ label: 'What', value: (x) => [x.host, x.app, x.src_subnet && (x.src_subnet + ' → ' + x.dst_subnet), x.exporter, x.what].filter(Boolean).join(' ') },
			], ev.events, 'No events yet.'));
	}

	// One error line, above the page, replaced by the next failure and
	// removed by the next refresh that works.
	let err = null;
	const failed = (e) => {
		if (e.status === 401) return;
		const box = errorBox(e);
		box.id = 'dashboard-error';
		if (err) err.replaceWith(box);
		else main.prepend(box);
		err = box;
	};
	return {
		refresh: () => refresh().then(() => { if (err) { err.remove(); err = null; } }, failed),
		destroy: () => chart.destroy(),
	};
}
