// chart.js -- throughput over time with uPlot, from /api/timeseries
// points ([T, BYTES, PKTS, FLOWS], one per interval that saw traffic).
// A gap is an interval with no traffic, drawn as zero.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { bps } from './fmt.js';
import { h } from './dom.js';

const MAX_POINTS = 20000;

// Rates in bit/s on a regular grid, gaps filled with zeros.
export function toRates(ts) {
	const step = ts.interval_ms || 1000;
	const xs = [], ys = [];
	const pts = ts.points || [];
	if (pts.length === 0) return [xs, ys];
	let i = 0;
	for (let t = pts[0][0]; t <= pts[pts.length - 1][0] && xs.length < MAX_POINTS; t += step) {
		let b = 0;
		while (i < pts.length && pts[i][0] < t + step) {
			if (pts[i][0] >= t) b += pts[i][1];
			i++;
		}
		xs.push(t / 1000);
		ys.push((b * 8 * 1000) / step);
	}
	// The intervals just before and after had no point: zero, which also
	// gives a lone point an axis of its own scale.
	xs.unshift(xs[0] - step / 1000);
	ys.unshift(0);
	xs.push(xs[xs.length - 1] + step / 1000);
	ys.push(0);
	return [xs, ys];
}

export class RateChart {
	constructor(parent, label, id) {
		this.box = h('div', { class: 'chart', id });
		this.note = h('p', { class: 'empty' });
		parent.append(this.box, this.note);
		this.label = label;
		this.plot = null;
		this.ro = new ResizeObserver(() => this.resize());
		this.ro.observe(this.box);
	}

	width() { return Math.max(300, this.box.clientWidth || 600); }

	resize() {
		if (this.plot) this.plot.setSize({ width: this.width(), height: 220 });
	}

	// ts: an /api/timeseries answer; emptyText when it has no points.
	set(ts, emptyText) {
		const data = toRates(ts);
		if (data[0].length === 0) {
			this.note.textContent = emptyText;
			this.box.hidden = true;
			return;
		}
		this.note.textContent = '';
		this.box.hidden = false;
		this.box.dataset.points = String(data[0].length);
		this.box.dataset.bytes = String((ts.points || []).reduce((a, p) => a + p[1], 0));
		if (!this.plot) {
			this.plot = new uPlot({
				width: this.width(), height: 220,
				series: [{}, { label: this.label, stroke: '#2b6cb0', fill: 'rgba(43,108,176,0.15)', width: 1.5,
					value: (u, v) => (v == null ? '-' : bps(v)) }],
				axes: [{}, { values: (u, vals) => vals.map((v) => bps(v)), size: 90 }],
				legend: { show: true },
			}, data, this.box);
		} else {
			this.plot.setData(data);
		}
	}

	destroy() {
		this.ro.disconnect();
		if (this.plot) this.plot.destroy();
	}
}
