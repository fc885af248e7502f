import http from "node:http";
import { Inngest } from "inngest";
import { serve } from "inngest/node";
import { composeStage, loadConfig } from "video-generate-stage";
import { createFilmPipeline } from "./film-pipeline.ts";

// The app's composition root: the only place that reads process.env. loadConfig reads the stage's variables
// (DASHSCOPE_API_KEY, DATABASE_URL, S3_BUCKET, …); the Inngest SDK reads its own (INNGEST_DEV, INNGEST_SIGNING_KEY, …).
const inngest = new Inngest({ id: "film-pipeline" });
const stage = await composeStage(loadConfig(process.env));
const pipeline = createFilmPipeline(inngest, stage.dependencies);

const port = Number(process.env.PORT ?? 3000);
const server = http.createServer(serve({ client: inngest, functions: pipeline.functions }));
server.listen(port, () => console.log(`film-pipeline: http://localhost:${port}/api/inngest`));

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => server.close(() => void stage.close()));
}
