import { describe, expect, it } from "vitest";
import { parseRange } from "../../src/gallery/gallery-media.ts";
import { html } from "../../src/gallery/html-template.ts";

describe("Range headers", () => {
  it("reads the forms browsers send", () => {
    expect(parseRange("bytes=0-", 1000)).toEqual({ start: 0, end: 999 });
    expect(parseRange("bytes=100-199", 1000)).toEqual({ start: 100, end: 199 });
    expect(parseRange("bytes=900-5000", 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange("bytes=-100", 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange("bytes=-5000", 1000)).toEqual({ start: 0, end: 999 });
  });

  it("answers the whole object to no header or one it does not serve, 416 past the end", () => {
    expect(parseRange(null, 1000)).toBeNull();
    expect(parseRange("bytes=0-1,5-6", 1000)).toBeNull();
    expect(parseRange("items=0-1", 1000)).toBeNull();
    expect(parseRange("bytes=1000-", 1000)).toBe("unsatisfiable");
    expect(parseRange("bytes=5-4", 1000)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 1000)).toBe("unsatisfiable");
  });
});

describe("the HTML template", () => {
  it("escapes every interpolated value and keeps nested templates", () => {
    const prompt = `<script>alert("x")</script> & 'quotes'`;
    const page = html`<p title="${prompt}">${prompt}</p>${html`<b>${"<i>"}</b>`}${[1, "<2>"]}${null}${false}`;
    expect(page.value).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;</p><b>&lt;i&gt;</b>1&lt;2&gt;',
    );
  });
});
