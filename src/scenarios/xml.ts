/**
 * Text made safe for an XML 1.0 document (the JUnit report). A scenario
 * name is whatever its file says: `]]>`, `&`, quotes, control characters
 * and lone UTF-16 surrogates all occur in hostile or careless files, and a
 * CI server that cannot parse the report shows no results at all.
 *
 * No CDATA anywhere (escaping `>` everywhere is what makes `]]>` harmless).
 * Characters XML 1.0 cannot carry at all (C0 controls other than tab and
 * line breaks, U+FFFE, U+FFFF), and those a terminal or an editor would
 * obey (DEL, C1, bidi overrides), are written out as `\uXXXX`, visible and
 * inert; a lone surrogate becomes U+FFFD, as a UTF-8 encoder would make it.
 */

// With DEL, C1 controls (XML 1.0 allows them, a terminal showing the report obeys CSI) and bidi overrides.
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffe\uffff]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function xmlSafe(text: string): string {
  return text
    .replace(LONE_SURROGATE, '\ufffd')
    .replace(NOT_XML, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Element content. */
export function xmlText(text: string): string {
  return xmlSafe(text);
}

/** An attribute value, for `name="…"`: quotes escaped, and tab and line breaks as references so they survive attribute normalisation. */
export function xmlAttr(text: string): string {
  return xmlSafe(text)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}
