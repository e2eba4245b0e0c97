/**
 * 中文 on the till needs a CJK font on the device: the page ships none (kiosks
 * are often offline), only a font stack that names the common system ones.
 * This test checks the stack, then asks fontconfig whether this machine has
 * a Chinese font, and checks that Chromium agrees:
 * - with one (`fc-list :lang=zh` lists it), 中 and 文 must render as two
 *   different, full-width glyphs in the page's font;
 * - without one, they render as the same empty box (the `.notdef` glyph, as
 *   an unassigned code point does): the test says so, and that Debian kiosk
 *   images need `apt-get install fonts-noto-cjk` (or the smaller
 *   `fonts-wqy-microhei`).
 * Either way, a font stack that stopped reaching an installed CJK font, or a
 * detection that stopped matching what Chromium draws, fails it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { E2eTest } from './harness.js';
import { Till } from './till.js';

/** The fonts the stack must name: one per platform family a till runs on (macOS/iOS, Windows, Linux/Android). */
const CJK_FAMILIES = ['PingFang SC', 'Microsoft YaHei', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei'];

/** The Chinese fonts fontconfig knows, one a line; `undefined` when `fc-list` is not there to ask. */
function chineseFonts(): Promise<string[] | undefined> {
  return new Promise((resolve) => {
    execFile('fc-list', [':lang=zh', 'family'], { encoding: 'utf8', timeout: 10_000 }, (error, stdout) => {
      resolve(error ? undefined : stdout.split('\n').filter((line) => line.trim() !== ''));
    });
  });
}

interface GlyphProbe {
  fontFamily: string;
  /** 中 and 文 drawn alike: both are the missing-glyph box. */
  sameGlyph: boolean;
  /** 中 drawn like U+0378, a code point no font has. */
  likeMissing: boolean;
  /** Width of 中 in ems: about 1 in a CJK font, about 0.6 for the box. */
  em: number;
}

export const tests: E2eTest[] = [
  {
    name: '中文 font: the stack names the system CJK fonts; where this machine has one, Chinese renders as glyphs, not boxes',
    async run({ context, screenshot }) {
      const till = await Till.open(context);
      await till.testId('lang-zh').click();
      await till.page.waitForSelector('html[lang="zh-CN"]');

      // A string, not a function: tsx would wrap a function's inner helpers in `__name`, which the page has not got.
      const probe: GlyphProbe = await till.page.evaluate(`(() => {
        const fontFamily = getComputedStyle(document.body).fontFamily;
        const size = 32;
        function draw(text) {
          const canvas = document.createElement('canvas');
          canvas.width = canvas.height = size * 1.5;
          const g = canvas.getContext('2d');
          g.font = size + 'px ' + fontFamily;
          g.fillText(text, 4, size);
          return { width: g.measureText(text).width, pixels: canvas.toDataURL() };
        }
        const zhong = draw('中'), wen = draw('文'), missing = draw('\\u0378');
        return { fontFamily, sameGlyph: zhong.pixels === wen.pixels, likeMissing: zhong.pixels === missing.pixels, em: zhong.width / size };
      })()`);
      const missing = CJK_FAMILIES.filter((family) => !probe.fontFamily.includes(family));
      assert.deepEqual(missing, [], `the page's font stack names every common CJK system font: ${probe.fontFamily}`);

      const fonts = await chineseFonts();
      const drawsChinese = !probe.sameGlyph && !probe.likeMissing;
      if (fonts === undefined) {
        console.log(`      (fc-list is not installed: Chromium ${drawsChinese ? 'draws' : 'does not draw'} Chinese glyphs here)`);
      } else if (fonts.length > 0) {
        assert.ok(drawsChinese, `fontconfig has ${fonts[0]}, but the page draws 中 as a box: the font stack does not reach it`);
        assert.ok(probe.em > 0.9, `中 is ${probe.em.toFixed(2)} em wide: a CJK glyph is about 1 em`);
        await screenshot(till.page, 'zh-font');
      } else {
        assert.ok(!drawsChinese, 'fontconfig lists no Chinese font, yet Chromium drew 中 and 文 as different glyphs: the check is wrong');
        console.log(
          '      (no CJK font on this machine: 中文 renders as boxes here; kiosk images need fonts-noto-cjk or fonts-wqy-microhei)',
        );
      }
    },
  },
];
