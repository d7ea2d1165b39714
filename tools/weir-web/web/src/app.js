// app.js -- the dashboard's shell: hash routes to pages, a live refresh
// loop (every POLL_MS while the tab is visible, never two at once), the
// publish state in the header, and logout.
import './style.css';
import * as api from './api.js';
import { age } from './fmt.js';
import { clear, errorBox, h } from './dom.js';
import dashboard from './pages/dashboard.js';
import flows from './pages/flows.js';
import host from './pages/host.js';
import vlans from './pages/vlans.js';
import exporters from './pages/exporters.js';
import health from './pages/health.js';
import alerts from './pages/alerts.js';

const POLL_MS = 3000;
const pages = { dashboard, flows, host, vlans, exporters, health, alerts };
const main = document.getElementById('main');
let current = null;
let busy = false;
let timer = null;

function route() {
	const hash = location.hash.replace(/^#\/?/, '') || 'dashboard';
	const [name, query] = hash.split('?');
	return { name: pages[name] ? name : 'dashboard', params: new URLSearchParams(query || '') };
}

// Which engines the numbers come from: one node, or several merged (the
// server's default when several engines publish into one Redis).
function nodesText(s) {
	const nodes = s.nodes || [];
	if (nodes.length < 2)
		return 'node ' + s.node;
	return nodes.length + ' nodes merged: ' + nodes.map((n) =>
		n.node + (n.published && n.meta ? ' (' + n.meta.state + ')' : ' (nothing yet)')).join(', ');
}

async function refreshHeader() {
	const el = document.getElementById('pubstate');
	try {
		const s = await api.get('status');
		el.dataset.nodes = (s.nodes || []).map((n) => n.node).join(',');
		if (!s.published) {
			el.textContent = nodesText(s) + ': nothing published yet';
			el.className = 'warn';
			return;
		}
		const m = s.meta;
		el.textContent = nodesText(s) + ((s.nodes || []).length > 1 ? '' : ' · ' + m.state +
			' · cycle ' + m.cycle) + ' · updated ' + age(s.now_ms - m.updated_ms) + ' ago';
		el.className = 'muted';
	} catch (e) {
		el.textContent = e.message;
		el.className = 'error';
	}
}

async function tick() {
	if (busy || document.hidden || !current) return;
	busy = true;
	try {
		await Promise.all([current.refresh(), refreshHeader()]);
		document.body.dataset.refreshed = String(Date.now());
	} catch (e) {
		if (e.status !== 401) console.warn(e);
	} finally {
		busy = false;
	}
}

async function show() {
	const { name, params } = route();
	if (current && current.destroy) current.destroy();
	clear(main);
	for (const a of document.querySelectorAll('#nav a'))
		a.classList.toggle('active', a.dataset.page === name);
	try {
		current = pages[name](main, params);
		document.body.dataset.page = name;
		busy = false;
		await tick();
	} catch (e) {
		main.append(errorBox(e));
	}
}

async function start() {
	try {
		const s = await api.session();
		document.getElementById('user').textContent = s.user;
	} catch (e) {
		return;	// api.js sent us to the login page
	}
	document.getElementById('logout').addEventListener('click', async () => {
		clearInterval(timer);	// no poll after the session ends
		current = null;
		try { await api.post('logout'); } finally { location.href = '/login.html'; }
	});
	window.addEventListener('hashchange', show);
	await show();
	timer = setInterval(tick, POLL_MS);
}

start();
