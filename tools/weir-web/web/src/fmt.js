// fmt.js -- numbers in a person's units (the same as weirctl's).
export function bytes(v) {
	v = Number(v) || 0;
	if (v < 1000) return v + ' B';
	const u = ['KB', 'MB', 'GB', 'TB', 'PB'];
	let i = -1;
	while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; }
	return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + ' ' + u[i];
}

export function bps(v) {
	v = Number(v) || 0;
	if (v < 1000) return Math.round(v) + ' bit/s';
	const u = ['kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'];
	let i = -1;
	while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; }
	return v.toFixed(2) + ' ' + u[i];
}

export function count(v) {
	v = Number(v) || 0;
	if (v < 10000) return String(v);
	if (v < 1e6) return (v / 1e3).toFixed(1) + 'k';
	return (v / 1e6).toFixed(2) + 'M';
}

function pad(n) { return String(n).padStart(2, '0'); }

export function time(ms) {
	if (!ms) return '-';
	const d = new Date(Number(ms));
	return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
		pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
}

export function age(ms) {
	ms = Math.max(0, Number(ms) || 0);
	const s = Math.floor(ms / 1000);
	if (s < 60) return s + 's';
	if (s < 3600) return Math.floor(s / 60) + 'm' + pad(s % 60) + 's';
	if (s < 86400) return Math.floor(s / 3600) + 'h' + pad(Math.floor(s / 60) % 60) + 'm';
	return Math.floor(s / 86400) + 'd' + pad(Math.floor(s / 3600) % 24) + 'h';
}

export function duration(ms) {
	ms = Number(ms) || 0;
	return ms < 1000 ? ms + ' ms' : age(ms);
}

const PROTOS = { 1: 'icmp', 2: 'igmp', 6: 'tcp', 17: 'udp', 47: 'gre', 50: 'esp', 51: 'ah', 58: 'icmp6', 132: 'sctp' };
export function proto(n) { return PROTOS[n] || String(n); }
