// api.js -- the page's only way to the server: GET /api/... as JSON, and
// POSTs carrying the session's CSRF token. A 401 means the session ended:
// back to the login page.
let csrf = null;

export class ApiError extends Error {
	constructor(status, message) {
		super(message);
		this.status = status;
	}
}

function toLogin() {
	location.href = '/login.html';
}

export async function get(path, params) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(params || {}))
		if (v !== undefined && v !== null && v !== '')
			q.set(k, v);
	const url = '/api/' + path + (q.toString() ? '?' + q : '');
	const r = await fetch(url, { credentials: 'same-origin', cache: 'no-store' });
	if (r.status === 401) {
		toLogin();
		throw new ApiError(401, 'login required');
	}
	const j = await r.json().catch(() => null);
	if (!r.ok)
		throw new ApiError(r.status, (j && j.error) || ('HTTP ' + r.status));
	return j;
}

export async function session() {
	const s = await get('session');
	csrf = s.csrf;
	return s;
}

export async function post(path) {
	if (!csrf)
		await session();
	const r = await fetch('/api/' + path, {
		method: 'POST', credentials: 'same-origin',
		headers: { 'X-CSRF-Token': csrf },
	});
	const j = await r.json().catch(() => null);
	if (!r.ok)
		throw new ApiError(r.status, (j && j.error) || ('HTTP ' + r.status));
	return j;
}
