/** A difference between what was requested and what the stage submits or stores. */
export interface GenerationWarning {
  /** The request field concerned, e.g. `fps`. */
  field: string;
  /** The requested value. */
  requested: string | number | boolean | null;
  /** The value the stage applies instead; null when the field is dropped. */
  applied: string | number | boolean | null;
  /** Why, in a sentence. */
  reason: string;
}
