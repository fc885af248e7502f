// Owned by the metadata work: starts a throw-away PostgreSQL cluster for the suites.
export default async function setup() {}
