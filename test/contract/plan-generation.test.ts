import { describe, expect, it } from "vitest";
import { DEFAULT_PRICE_TABLE, estimateCost } from "../../src/contract/cost-estimate.ts";
import { planForImage, planGeneration } from "../../src/contract/plan-generation.ts";
import {
  possibleOutputSizes,
  predictOutputSize,
  WAN_FRAME_RULES,
  type WanFrameRule,
} from "../../src/contract/wan-model.ts";
import { InputError } from "../../src/errors/input-error.ts";

const options = { defaultPolicy: "warn" as const, ffmpegAvailable: true };
const base = { prompt: "waves roll in at sunset", reference_image: "https://images.example/frame.jpg" };
const AUDIO_URL = "https://audio.example/waves.mp3?X-Amz-Signature=secret";

function rejection(run: () => unknown): InputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error("expected an InputError");
}

describe("audio_url and audio", () => {
  it("audio_url alone means sound, at the audio price", () => {
    const plan = planGeneration({ ...base, audio_url: AUDIO_URL }, options);
    expect(plan.provider).toMatchObject({ audio: true, audioUrl: AUDIO_URL });
    expect(plan.warnings).toEqual([]);
    const price = DEFAULT_PRICE_TABLE.perSecond["720P"];
    expect(estimateCost(DEFAULT_PRICE_TABLE, plan.provider.resolution, plan.provider.audio, 5)).toEqual({
      currency: "CNY",
      amount: price.audio * 5,
    });
    expect(price.audio).toBeGreaterThan(price.silent);
  });

  it("no audio_url and no audio stays silent (half the price); audio true without audio_url is sound", () => {
    expect(planGeneration(base, options).provider.audio).toBe(false);
    expect(planGeneration({ ...base, audio: true }, options).provider).toMatchObject({ audio: true });
    expect(planGeneration({ ...base, audio: true }, options).provider).not.toHaveProperty("audioUrl");
  });

  it.each(["warn", "conform"] as const)(
    "audio_url with audio false under %s: a warning, a silent request, and the URL not sent",
    (unsupported) => {
      const plan = planGeneration({ ...base, audio_url: AUDIO_URL, audio: false, unsupported }, options);
      expect(plan.provider.audio).toBe(false);
      expect(plan.provider).not.toHaveProperty("audioUrl");
      expect(plan.warnings).toEqual([
        {
          field: "audio_url",
          requested: "set, with audio false",
          applied: null,
          reason: expect.stringMatching(
            /audio false overrides audio_url: .*silent video \(billed as silent\)/,
          ),
        },
      ]);
      // The warning travels in responses and events: it never carries the (possibly presigned) URL.
      expect(JSON.stringify(plan.warnings)).not.toContain("secret");
    },
  );

  it("audio_url with audio false under strict: refused, naming both fields", () => {
    const error = rejection(() =>
      planGeneration({ ...base, audio_url: AUDIO_URL, audio: false, unsupported: "strict" }, options),
    );
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.field).toBe("audio_url");
    expect(error.message).toMatch(/^audio_url cannot be honoured with audio false: /);
    expect(error.message).toContain("set audio true (or omit audio)");
    expect(error.message).not.toContain("secret");
  });

  it("audio_url with audio true is what it says, under every policy", () => {
    for (const unsupported of ["warn", "strict", "conform"] as const) {
      const plan = planGeneration({ ...base, audio_url: AUDIO_URL, audio: true, unsupported }, options);
      expect(plan.provider).toMatchObject({ audio: true, audioUrl: AUDIO_URL });
      expect(plan.warnings).toEqual([]);
    }
  });
});

describe("shot_type and prompt_extend", () => {
  it("shot_type without prompt_extend makes the API's default explicit, so the client sends both", () => {
    const plan = planGeneration({ ...base, shot_type: "multi" }, options);
    expect(plan.provider).toMatchObject({ shotType: "multi", promptExtend: true });
    expect(plan.warnings).toEqual([]);
  });

  it("shot_type with prompt_extend false: dropped with a warning, refused under strict", () => {
    const plan = planGeneration({ ...base, shot_type: "multi", prompt_extend: false }, options);
    expect(plan.provider.promptExtend).toBe(false);
    expect(plan.provider).not.toHaveProperty("shotType");
    expect(plan.warnings).toEqual([
      expect.objectContaining({ field: "shot_type", requested: "multi", applied: null }),
    ]);
    const error = rejection(() =>
      planGeneration({ ...base, shot_type: "multi", prompt_extend: false, unsupported: "strict" }, options),
    );
    expect(error.message).toMatch(/^shot_type "multi" cannot be honoured with prompt_extend false/);
  });
});

describe("frame-size predictions", () => {
  it.each([
    // The documented example and the measured render, each under both rules.
    { rule: "official", width: 750, height: 1000, expected: "816*1104" },
    { rule: "measured", width: 750, height: 1000, expected: "830*1108" },
    { rule: "official", width: 1024, height: 768, expected: "1104*816" },
    { rule: "measured", width: 1024, height: 768, expected: "1108*830" },
    { rule: "official", width: 1280, height: 720, expected: "1280*720" },
    { rule: "measured", width: 1280, height: 720, expected: "1280*720" },
  ] as Array<{ rule: WanFrameRule; width: number; height: number; expected: string }>)(
    "$rule rule: $width x $height at 720P → $expected",
    ({ rule, width, height, expected }) => {
      const size = predictOutputSize("720P", width, height, rule);
      expect(`${size.width}*${size.height}`).toBe(expected);
    },
  );

  it("the official rule gives multiples of 16, the measured one even sides, on the same budget", () => {
    for (const [width, height] of [
      [640, 480],
      [1920, 1080],
      [1080, 1920],
      [3000, 1000],
    ] as const) {
      for (const resolution of ["720P", "1080P"] as const) {
        const official = predictOutputSize(resolution, width, height, "official");
        const measured = predictOutputSize(resolution, width, height, "measured");
        expect(official.width % 16).toBe(0);
        expect(official.height % 16).toBe(0);
        expect(measured.width % 2).toBe(0);
        expect(measured.height % 2).toBe(0);
        expect(measured.width - official.width).toBeGreaterThanOrEqual(0);
        expect(measured.width - official.width).toBeLessThan(16);
      }
    }
    expect(possibleOutputSizes("720P", 1280, 720)).toEqual([{ width: 1280, height: 720 }]);
    expect(WAN_FRAME_RULES).toEqual(["official", "measured"]);
  });

  const image = { width: 1024, height: 768 };
  it.each(["1104*816", "1108*830"])(
    "a requested %s, which one of the rules produces for a 1024x768 image, is neither refused nor warned about",
    (size) => {
      for (const unsupported of ["warn", "strict"] as const) {
        const plan = planGeneration({ ...base, size, unsupported }, options);
        const imagePlan = planForImage(plan, image);
        expect(imagePlan.warnings).toEqual([]);
        expect(`${imagePlan.predictedOutput.width}*${imagePlan.predictedOutput.height}`).toBe(size);
      }
    },
  );

  it("a size neither rule produces: warn says the prediction is approximate and names both, strict refuses", () => {
    const warned = planForImage(planGeneration({ ...base, size: "1280*720" }, options), image);
    expect(warned.warnings).toEqual([
      {
        field: "size",
        requested: "1280*720",
        applied: "about 1104*816",
        reason: expect.stringContaining(
          "the predicted frame is approximate (1104*816 (documented rule) or 1108*830 (measured rounding)): the response reports the stored file's measured size",
        ),
      },
    ]);
    const error = rejection(() =>
      planForImage(planGeneration({ ...base, size: "1280*720", unsupported: "strict" }, options), image),
    );
    expect(error.message).toMatch(/^size 1280\*720 cannot be honoured: /);
    expect(error.message).toContain(
      "produces about 1104*816 (documented rule) or 1108*830 (measured rounding)",
    );
  });

  it("when both rules agree, the warning names one size", () => {
    const warned = planForImage(planGeneration({ ...base, size: "1000*1000" }, options), {
      width: 1280,
      height: 720,
    });
    expect(warned.warnings[0]).toMatchObject({ applied: "about 1280*720" });
    expect(warned.warnings[0]?.reason).toContain("(1280*720)");
  });
});
