// Node-RED settings for the ingest benchmark's peer (see BENCHMARKS.md).
// The flow (flows.json) reads MQTT_HOST, MQTT_PORT, MQTT_CLIENT_ID,
// MQTT_TOPIC and DATABASE_URL from the environment. PostgreSQL is reached with
// `pg` (node-postgres 8) handed to function nodes through
// functionGlobalContext, Node-RED's documented way to use an npm module in a
// function; the registry here does not carry node-red-contrib-postgresql.
module.exports = {
    flowFile: "flows.json",
    credentialSecret: false,
    uiHost: "127.0.0.1",
    httpAdminRoot: false,
    disableEditor: true,
    logging: { console: { level: "warn", metrics: false, audit: false } },
    functionGlobalContext: { pg: require("pg") },
    functionExternalModules: false,
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
    runtimeState: { enabled: false },
};
