// Follows one job's progress with a real JavaScript client, the way frontends do, and prints what it gets
// as JSON lines: {"event": {...}} for each result, then {"complete": true} or {"error": ...}.
//
//   node follow.mjs graphql-ws|apollo ws://127.0.0.1:PORT/graphql JOB_ID [TIMEOUT_SECONDS]
import { ApolloClient, gql, InMemoryCache } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [client, url, jobId, timeoutSeconds = "30"] = process.argv.slice(2);
const query = `subscription($id: ID!) {
  jobProgress(jobId: $id) { seq status stage progress message at }
}`;
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
const done = (code) => {
  wsClient.dispose();
  process.exit(code);
};
setTimeout(() => {
  print({ error: "timed out" });
  done(2);
}, Number(timeoutSeconds) * 1000);

const wsClient = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
const sink = {
  next: (result) => print({ event: result.data.jobProgress, errors: result.errors ?? null }),
  error: (error) => {
    print({ error: String(error?.message ?? JSON.stringify(error)) });
    done(1);
  },
  complete: () => {
    print({ complete: true });
    done(0);
  },
};

if (client === "graphql-ws") {
  wsClient.subscribe({ query, variables: { id: jobId } }, sink);
} else if (client === "apollo") {
  const apollo = new ApolloClient({ link: new GraphQLWsLink(wsClient), cache: new InMemoryCache() });
  apollo.subscribe({ query: gql(query), variables: { id: jobId } }).subscribe(sink);
} else {
  print({ error: `unknown client ${client}` });
  process.exit(64);
}
print({ subscribed: client });
