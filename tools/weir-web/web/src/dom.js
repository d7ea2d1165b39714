// dom.js -- building the page from data without innerHTML: every value
// from the server lands in a text node, so a host name or DNS query can
// never become markup.
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'class') el.className = v;
		else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
		else el.setAttribute(k, v === true ? '' : String(v));
	}
	for (const c of children.flat()) {
		if (c === null || c === undefined || c === false) continue;
		el.append(c instanceof Node ? c : document.createTextNode(String(c)));
	}
	return el;
}

export function clear(el) {
	while (el.firstChild) el.removeChild(el.firstChild);
	return el;
}

// cols: [{label, value(row) -> text|Node, num: bool, cls: a class}]
export function table(id, cols, rows, empty) {
	if (!rows || rows.length === 0)
		return h('p', { id, class: 'empty' }, empty || 'Nothing yet.');
	return h('table', { id },
		h('thead', {}, h('tr', {}, cols.map((c) => h('th', { class: c.num ? 'num' : null }, c.label)))),
		h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) =>
			h('td', { class: c.num ? 'num' : (c.cls || null) }, c.value(r)))))));
}

export function section(title, ...body) {
	return h('section', { class: 'card' }, h('h2', {}, title), ...body);
}

export function bar(part, total) {
	const pct = total > 0 ? Math.max(0.5, (100 * part) / total) : 0;
	const b = h('span', { class: 'bar' }, h('span', { class: 'fill' }));
	b.firstChild.style.width = pct.toFixed(1) + '%';
	return b;
}

export function hostLink(ip, vlan, text) {
	const q = new URLSearchParams({ ip });
	if (vlan !== undefined && vlan !== null) q.set('vlan', vlan);
	return h('a', { href: '#/host?' + q }, text || ip);
}

export function errorBox(e) {
	return h('p', { class: 'error' }, e.message || String(e));
}
