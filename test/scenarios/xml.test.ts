/* eslint-disable no-control-regex -- control characters in names and XML are what these tests look for */
import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { xmlAttr, xmlText } from '../../src/scenarios/xml.js';

// Any UTF-16 code units, lone surrogates and C0 controls included: what JSON.parse can hand a scenario name.
const anyText = fc.array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 }).map((units) => String.fromCharCode(...units));
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  htmlEntities: true,
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
});
const NOT_XML_CHAR =
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What the text reads as once parsed: forbidden and terminal-control characters (DEL, C1, bidi) written out, lone surrogates as U+FFFD. */
const expected = (text: string) =>
  text
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(
      /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\ufffe\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    );

describe('xmlText and xmlAttr', () => {
  it('make any text a well-formed attribute and element that parse back to it (property)', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const xml = `<r a="${xmlAttr(text)}">${xmlText(`x${text}x`)}</r>`;
        expect(xml).not.toMatch(NOT_XML_CHAR);
        expect(xml).not.toContain(']]>');
        expect(XMLValidator.validate(xml)).toBe(true);
        const { r } = parser.parse(xml) as { r: { a: string; '#text': string } };
        expect(r.a).toBe(expected(text));
        // Element text: an XML parser turns CR LF and lone CR into LF (XML 1.0 §2.11).
        expect(r['#text'].replace(/\r\n?/g, '\n')).toBe(`x${expected(text)}x`.replace(/\r\n?/g, '\n'));
      }),
      { numRuns: 300 },
    );
  });
});
