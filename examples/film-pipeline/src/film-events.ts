import { eventType, staticSchema } from "inngest";

/** One shot of a film: the first frame and what happens in it. */
export interface Shot {
  /** Unique within the film, e.g. `"3"`. */
  id: string;
  /** The first frame: an https URL, `s3://bucket/key`, or a path the stage may read (REFERENCE_IMAGE_ROOT). */
  image: string;
  prompt: string;
  /** Length in whole seconds, 2-15. */
  duration: number;
}

/** Ask for one shot's video. */
export const shotRequested = eventType("film/shot.requested", {
  schema: staticSchema<{ film_id: string; shot: Shot }>(),
});

/** Render every shot of a film and collect the videos. */
export const filmRenderRequested = eventType("film/render.requested", {
  schema: staticSchema<{ film_id: string; shots: Shot[] }>(),
});

/** Render one shot and wait for its video in the same run. */
export const shotRenderRequested = eventType("film/shot.render-requested", {
  schema: staticSchema<{ film_id: string; shot: Shot }>(),
});

/** A shot was cut from the film: stop rendering it. */
export const shotCut = eventType("film/shot.cut", {
  schema: staticSchema<{ film_id: string; shot_id: string; reason: string }>(),
});

/**
 * The stage's `generation_id` for a shot: derived from our own ids, so a resent request is the same generation
 * (idempotent), and `video-gen show film-42-shot-3` finds it.
 */
export function shotGenerationId(filmId: string, shotId: string): string {
  return `film-${filmId}-shot-${shotId}`;
}
