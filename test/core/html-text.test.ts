import { boundedHtmlText, HTML_DEPTH_CUT } from '../../core/html-text';

describe('the text of an HTML nested past 1,000 elements', () => {
	it('marks the cut and ends with the note also where the cut is inside a heading (which html-to-text writes in capitals)', () => {
		const deep = `<p>top</p><h1>${'<span>'.repeat(1500)}deep${'</span>'.repeat(1500)}</h1><p>after</p>`;
		const text = boundedHtmlText(deep, {});
		expect(text).not.toMatch(/\u{E000}/u);
		expect(text).toContain('[…]');
		expect(text.endsWith(HTML_DEPTH_CUT)).toBe(true);
	});
});
