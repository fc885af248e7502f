/** What a probe of an MP4 reports. */
export interface MediaInfo {
  /** Container duration in seconds. */
  durationSeconds: number;
  /** Frames per second of the video track (frames / video track duration). */
  fps: number;
  /** Number of video frames. */
  frames: number;
  width: number;
  height: number;
  /** Video codec string, e.g. `avc1.64001f`. */
  videoCodec: string;
  hasAudio: boolean;
  /** Audio codec string, e.g. `mp4a.40.2`, when there is an audio track. */
  audioCodec?: string;
}
