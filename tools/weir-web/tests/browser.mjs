// browser.mjs -- the page in headless Chromium (Debian's), through
// playwright-core: log in, open every page, apply filters, and find the
// numbers tshark computed (web_test.py writes them to EXPECT.json) on the
// page. Screenshots of each page go to the artefacts directory. Any
// console error (a CSP violation included) or uncaught exception fails.
// Every wait is bounded (WAIT_MS).
//
// usage: NODE_PATH=.../node_modules node browser.mjs EXPECT.json
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const WAIT_MS = 20000;
const E = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const failures = [];
const problems = [];

function check(cond, what) {
	console.log((cond ? 'ok   ' : 'FAIL ') + what);
	if (!cond) failures.push(what);
}

async function shot(page, name) {
	const file = path.join(E.artefacts, name + '.png');
	await page.screenshot({ path: file, fullPage: true });
}

// Waits for the current page's first refresh after a navigation.
async function settled(page, name, selector) {
	await page.waitForFunction((n) => document.body.dataset.page === n, name, { timeout: WAIT_MS });
	await page.waitForSelector(selector, { timeout: WAIT_MS });
}

async function cellTexts(page, selector) {
	return page.$$eval(selector + ' tbody tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent.trim())));
}

const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'weir-web-chromium-'));
const ctx = await chromium.launchPersistentContext(userDir, {
	executablePath: E.chromium,
	headless: true,
	args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
		'--disable-component-update', '--disable-sync', '--no-first-run'],
	viewport: { width: 1440, height: 900 },
	timeout: WAIT_MS,
});
let rc = 1;
try {
	const page = ctx.pages()[0] || await ctx.newPage();
	page.setDefaultTimeout(WAIT_MS);
	page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
	page.on('pageerror', (e) => problems.push('page error: ' + e.message));

	// Not logged in: the dashboard sends us to the login page.
	await page.goto(E.url + '/', { timeout: WAIT_MS });
	check(page.url().endsWith('/login.html'), 'without a session / goes to /login.html');
	await page.fill('#user', E.user);
	await page.fill('#password', 'not-the-password');
	await page.click('button[type=submit]');
	await page.waitForFunction(() => document.getElementById('msg').textContent.length > 0, null, { timeout: WAIT_MS });
	check((await page.textContent('#msg')).includes('wrong user name or password'), 'a wrong password is refused on the page');
	problems.length = 0;	// the 401 of that attempt is logged by Chromium: expected
	await page.fill('#password', E.password);
	await page.click('button[type=submit]');
	await settled(page, 'dashboard', '#top-hosts');

	// Dashboard
	const hostsStat = (await page.textContent('#stat-hosts .value')).trim();
	check(hostsStat === String(E.hosts), `dashboard: ${E.hosts} hosts (page says ${hostsStat})`);
	const top = await cellTexts(page, '#top-hosts');
	check(top.length > 0 && top[0][0] === E.top_host.ip && top[0][1] === String(E.top_host.vlan),
		`dashboard: the busiest host is ${E.top_host.ip} on VLAN ${E.top_host.vlan} (page: ${top[0]})`);
	check(await page.$('#top-apps tbody tr') !== null && await page.$('#top-categories tbody tr') !== null,
		'dashboard: top applications and categories listed');
	const vrows = await cellTexts(page, '#top-vlans');
	check(vrows.length === Object.keys(E.vlans).length, `dashboard: ${Object.keys(E.vlans).length} VLANs`);
	const chart = await page.$('#throughput-chart');
	const chartBytes = chart ? await chart.getAttribute('data-bytes') : null;
	if (chartBytes !== null && !(await chart.isHidden()))
		check(Number(chartBytes) === E.bytes, `dashboard: the throughput chart holds ${E.bytes} bytes (${chartBytes})`);
	else
		check((await page.textContent('main')).includes('No time series'), 'dashboard: an empty state for the chart');
	const before = await page.getAttribute('body', 'data-refreshed');
	await page.waitForFunction((b) => document.body.dataset.refreshed !== b, before, { timeout: WAIT_MS });
	check(true, 'dashboard: refreshed itself (live polling)');
	// The alerts the test wrote (docs/alerts.md keys), critical first.
	await page.waitForSelector('#alerts tbody tr', { timeout: WAIT_MS });
	const dal = await cellTexts(page, '#alerts');
	check(JSON.stringify(dal.map((r) => r[0])) === JSON.stringify(E.alerts.map((a) => String(a.id))),
		`dashboard: the ${E.alerts.length} active alerts, in order (page: ${dal.map((r) => r[0])})`);
	await shot(page, 'dashboard');

	// Flows, filtered with the form
	await page.click('#nav a[data-page=flows]');
	await settled(page, 'flows', '#flows-table');
	await page.fill('#flow-filters input[name=vlan]', String(E.vlan_filter));
	await page.click('#flow-filters button[type=submit]');
	// Read the count from the page rendered for this filter (the router
	// replaces the page on hashchange, so the old one may still be up).
	const matched = await (await page.waitForFunction((v) => {
		const el = document.getElementById('flows-info');
		return el && el.dataset.matched !== undefined &&
			new URLSearchParams(el.dataset.query).get('vlan') === String(v) ? el.dataset.matched : null;
	}, E.vlan_filter, { timeout: WAIT_MS })).jsonValue();
	await page.waitForSelector('#flows-table', { timeout: WAIT_MS });
	check(Number(matched) === E.vlan_flows, `flows?vlan=${E.vlan_filter}: ${E.vlan_flows} flows as tshark (page: ${matched})`);
	const frows = await cellTexts(page, '#flows-table');
	check(frows.length === Math.min(50, E.vlan_flows) && frows.every((r) => r[5] === String(E.vlan_filter)),
		`flows?vlan=${E.vlan_filter}: every row on VLAN ${E.vlan_filter}`);
	check(frows.every((r) => E.vlan_flow_hosts.includes(r[0])), 'flows: every source is one tshark saw on that VLAN');
	await shot(page, 'flows');
	await page.goto(E.url + '/#/flows?subnet=' + E.subnet_filter);
	const sm = await (await page.waitForFunction((v) => {
		const el = document.getElementById('flows-info');
		return document.body.dataset.page === 'flows' && el && el.dataset.matched !== undefined &&
			new URLSearchParams(el.dataset.query).get('subnet') === v ? el.dataset.matched : null;
	}, E.subnet_filter, { timeout: WAIT_MS })).jsonValue();
	check(Number(sm) === E.subnet_flows, `flows?subnet=${E.subnet_filter}: ${E.subnet_flows} flows (page: ${sm})`);

	// Host detail, reached by clicking the busiest host on the dashboard
	await page.click('#nav a[data-page=dashboard]');
	await settled(page, 'dashboard', '#top-hosts');
	await page.click('#top-hosts tbody tr:first-child td:first-child a');
	await settled(page, 'host', '#host-summary');
	const kv = Object.fromEntries(await page.$$eval('#host-summary tr', (rows) => rows.map((r) =>
		[r.children[0].textContent.trim(), r.children[1].textContent.trim()])));
	check(kv['Total bytes'] === String(E.top_host.bytes), `host: total bytes ${E.top_host.bytes} (page: ${kv['Total bytes']})`);
	await page.waitForSelector('#host-peers', { timeout: WAIT_MS });
	const peers = (await cellTexts(page, '#host-peers')).map((r) => r[0]).sort();
	check(JSON.stringify(peers) === JSON.stringify(E.host_peers), `host: its ${E.host_peers.length} peers as tshark's flows`);
	await page.click('#range-24h');
	await page.waitForFunction(() => location.hash.includes('range=24h'), null, { timeout: WAIT_MS });
	await settled(page, 'host', '#host-summary');
	check(await page.$('#range-24h.active') !== null, 'host: the 24 h range is selected');
	await page.waitForSelector('#host-alerts tbody tr', { timeout: WAIT_MS });
	const hal = (await cellTexts(page, '#host-alerts')).map((r) => Number(r[0]));
	check(JSON.stringify(hal) === JSON.stringify(E.host_alerts), `host: the alerts about it ${E.host_alerts} (page: ${hal})`);
	await shot(page, 'host');

	// Alerts: current and history, from the nav
	await page.click('#nav a[data-page=alerts]');
	await settled(page, 'alerts', '#alerts-current');
	const cur = await cellTexts(page, '#alerts-current');
	check(cur.length === E.alerts.length && E.alerts.every((a, i) => cur[i][0] === String(a.id) &&
		cur[i][2] === a.rule && cur[i][7] === a.summary),
	'alerts: every active alert written, in order, id, rule and summary as written');
	check(cur.length > 0 && cur[0][1] === 'critical' && await page.$('#alerts-current .sev-critical') !== null,
		'alerts: the first is critical, marked so');
	check(await page.$('#alerts-current img') === null && cur.some((r) => r[7].includes('<img src=x')),
		'alerts: markup in a summary is shown as text');
	await page.waitForSelector('#alerts-history', { timeout: WAIT_MS });
	const hist = await cellTexts(page, '#alerts-history');
	check(hist.length === E.alert_history, `alerts: ${E.alert_history} transitions in the history (page: ${hist.length})`);
	check(await page.$('#nav a[data-page=alerts].active') !== null, 'alerts: the nav marks the page');
	await shot(page, 'alerts');

	// VLANs and the matrix
	await page.click('#nav a[data-page=vlans]');
	await settled(page, 'vlans', '#vlans-table');
	const vt = await cellTexts(page, '#vlans-table');
	const pageV = Object.fromEntries(vt.map((r) => [r[0].split(' ')[0], Number(r[2])]));
	check(JSON.stringify(Object.entries(pageV).sort()) === JSON.stringify(Object.entries(E.vlans).sort()),
		'vlans: every VLAN\'s bytes equal tshark\'s');
	await page.waitForSelector('#matrix', { timeout: WAIT_MS });
	const cell = await page.$('#matrix td[title^="iot → servers"]');
	check(cell !== null && Number(await cell.getAttribute('data-bytes')) === E.iot_servers,
		`matrix: iot → servers holds ${E.iot_servers} bytes`);
	await page.waitForSelector('#vlan-matrix', { timeout: WAIT_MS });
	const vc = await page.$(`#vlan-matrix td[title^="${E.vlan_cell.title}:"]`);
	check(vc !== null && Number(await vc.getAttribute('data-bytes')) === E.vlan_cell.bytes &&
		Number(await vc.getAttribute('data-flows')) === E.vlan_cell.flows,
	`VLAN matrix: ${E.vlan_cell.title} holds ${E.vlan_cell.bytes} bytes in ${E.vlan_cell.flows} flows (tshark)`);
	await shot(page, 'vlans');

	// Exporters: none from a capture, an empty state
	await page.click('#nav a[data-page=exporters]');
	await settled(page, 'exporters', '#exporters-table');
	check((await page.textContent('#exporters-table')).includes('No flow exporters'), 'exporters: the empty state');
	await shot(page, 'exporters');

	// Engine health
	await page.click('#nav a[data-page=health]');
	await settled(page, 'health', '#health-table');
	const ht = Object.fromEntries((await cellTexts(page, '#health-table')).map((r) => [r[0], r[1]]));
	check(ht.rx_pkts === String(E.frames), `health: rx_pkts ${E.frames} (page: ${ht.rx_pkts})`);
	await shot(page, 'health');

	// Dashboard: a failing refresh shows one error line, however many
	// times it fails, and the first refresh that works removes it.
	await page.click('#nav a[data-page=dashboard]');
	await settled(page, 'dashboard', '#top-hosts');
	const refreshes = async (n) => {
		for (let i = 0; i < n; i++) {
			const b = await page.getAttribute('body', 'data-refreshed');
			await page.waitForFunction((x) => document.body.dataset.refreshed !== x, b, { timeout: WAIT_MS });
		}
	};
	for (const p of problems)
		check(false, p);
	problems.length = 0;
	const failing = /\/api\/hosts\?/;
	await page.route(failing, (r) => r.fulfill({ status: 503, contentType: 'application/json',
		body: '{"error":"Redis is unreachable (the test says so)"}' }));
	await refreshes(3);
	const boxes = await page.$$eval('main .error', (els) => els.map((e) => e.textContent));
	check(boxes.length === 1 && boxes[0].includes('Redis is unreachable'),
		`dashboard: one error line after 3 failed refreshes (page: ${boxes.length})`);
	await page.unroute(failing);
	await refreshes(2);
	check(await page.$$eval('main .error', (els) => els.length) === 0, 'dashboard: the error line goes once a refresh works');
	problems.length = 0;	// Chromium logs the 503s: expected

	// Live: the engine replays the capture in a loop (--loop) under the
	// same node; the headline frames and the chart's points change
	// without a reload.
	const live0 = {
		frames: (await page.textContent('#stat-frames .value')).trim(),
		points: await page.getAttribute('#throughput-chart', 'data-points'),
	};
	await page.evaluate(() => { window.weirTestMark = 'same page'; });
	const engine = spawn(E.live_cmd[0], E.live_cmd.slice(1), { stdio: 'ignore' });
	try {
		await page.waitForFunction((b) => {
			const f = document.querySelector('#stat-frames .value');
			const c = document.getElementById('throughput-chart');
			return f && c && f.textContent.trim() !== b.frames && c.dataset.points !== b.points;
		}, live0, { timeout: 90000 });
		const live1 = {
			frames: (await page.textContent('#stat-frames .value')).trim(),
			points: await page.getAttribute('#throughput-chart', 'data-points'),
		};
		check(await page.evaluate(() => window.weirTestMark) === 'same page',
			`dashboard live: frames ${live0.frames} -> ${live1.frames}, chart points ${live0.points} -> ${live1.points}, no reload`);
		await shot(page, 'dashboard-live');
	} finally {
		engine.kill('SIGTERM');
		await new Promise((r) => { engine.once('exit', r); setTimeout(r, 20000); });
	}
	for (const p of problems)
		check(false, p);
	problems.length = 0;

	// Logout. A poll already in flight may come back 401 after it, which
	// Chromium logs: problems are judged up to here.
	for (const p of problems)
		check(false, p);
	problems.length = 0;
	await page.click('#logout');
	await page.waitForURL((u) => u.pathname.endsWith('/login.html'), { timeout: WAIT_MS });
	await page.goto(E.url + '/');
	check(page.url().endsWith('/login.html'), 'after logout / goes to the login page again');

	// Exporters with data: another weir-web on the node that collected
	// the test's NetFlow v9 stream (web_collect.py); tshark's numbers.
	await page.goto(E.collect.url + '/login.html');
	await page.fill('#user', E.user);
	await page.fill('#password', E.collect.password);
	await page.click('button[type=submit]');
	await settled(page, 'dashboard', '#top-hosts');
	// Chromium asks a new origin for /favicon.ico (404, logged, and not a
	// request of the page's): expected, every other problem was judged.
	problems.length = 0;
	await page.click('#nav a[data-page=exporters]');
	await settled(page, 'exporters', '#exporters-table tbody tr');
	const xr = await cellTexts(page, '#exporters-table');
	const want = Object.entries(E.collect.exporters).sort();
	const gotx = xr.map((r) => [r[0], Number(r[2])]).sort();
	check(JSON.stringify(gotx) === JSON.stringify(want),
		`exporters: a row per exporter with tshark's datagrams ${JSON.stringify(want)} (page: ${JSON.stringify(gotx)})`);
	const ir = await cellTexts(page, '#interfaces-table');
	check(ir.length === E.collect.interfaces, `exporters: ${E.collect.interfaces} interfaces listed (page: ${ir.length})`);
	await shot(page, 'exporters-collect');
	for (const p of problems)
		check(false, p);
	problems.length = 0;

	for (const p of problems)
		check(false, p);
	rc = failures.length ? 1 : 0;
} catch (e) {
	console.log('FAIL ' + (e.stack || e));
	rc = 1;
} finally {
	await ctx.close();
	fs.rmSync(userDir, { recursive: true, force: true });
}
console.log(rc ? failures.length + ' browser checks failed' : 'all browser checks passed');
process.exit(rc);
