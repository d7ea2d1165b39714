// login.js -- the login form: POST /api/login as a form body, then the
// dashboard. The session cookie is HttpOnly: this script never sees it.
const form = document.getElementById('login');
const msg = document.getElementById('msg');

form.addEventListener('submit', async (ev) => {
	ev.preventDefault();
	msg.textContent = '';
	const body = new URLSearchParams();
	body.set('user', document.getElementById('user').value);
	body.set('password', document.getElementById('password').value);
	try {
		const r = await fetch('/api/login', { method: 'POST', body, credentials: 'same-origin' });
		if (r.ok) {
			location.href = '/#/dashboard';
			return;
		}
		const j = await r.json().catch(() => ({}));
		msg.textContent = j.error || ('login failed (' + r.status + ')');
	} catch (e) {
		msg.textContent = 'the server did not answer: ' + e.message;
	}
});
