// Node.js peer for bench/compare-node.sh. The Medplum Agent itself is not published on the npm registry
// (only as release binaries), so when none is supplied this process stands in for it: the inbound HL7 path
// of a standard (non-enhanced) channel, as spec §1.5, §2 and §4.3-4.5 describe it, built on the libraries
// the Medplum Agent 5.0.10 depends on — @medplum/core (MedplumClient OAuth2 login and FHIR reads,
// ReconnectingWebSocket, Hl7Message, Logger), @medplum/hl7 (Hl7Server: MLLP framing and per-connection queues)
// and ws for the socket — on Node 22.
// It logs each message and answer at INFO as the agent does, because on a single event loop that cost is
// part of the throughput. Not covered (not exercised by the benchmark): enhanced mode, pushes, reload,
// stats, upgrade, DICOM/ASTM.
// usage: node node-agent.cjs <baseUrl> <clientId> <clientSecret> <agentId> [NONE|ERROR|WARN|INFO|DEBUG]
'use strict';
const { randomUUID } = require('node:crypto');
const { ContentType, Hl7Message, Logger, LogLevel, MEDPLUM_VERSION, MedplumClient, ReconnectingWebSocket } = require('@medplum/core');
const { Hl7Server } = require('@medplum/hl7');
const WebSocket = require('ws');

const [baseUrl, clientId, clientSecret, agentId, levelName = 'INFO'] = process.argv.slice(2);
if (!agentId) {
  process.stderr.write('usage: node node-agent.cjs <baseUrl> <clientId> <clientSecret> <agentId> [logLevel]\n');
  process.exit(1);
}
const log = new Logger((line) => process.stdout.write(line + '\n'), undefined, LogLevel[levelName] ?? LogLevel.INFO);
const VERSION = 'edge-bench-node-peer (@medplum/core ' + MEDPLUM_VERSION + ')';
const HEARTBEAT_MS = 10_000;
// Frames waiting for the link are bounded; each frame sent while the link is down is logged.
const MAX_PENDING_FRAMES = 10_000;

const medplum = new MedplumClient({ baseUrl, clientId, fetch });
const channels = new Map(); // channel name -> Map(remote "ip:port" -> Hl7Connection)
let ws;
let live = false;
let outstandingHeartbeats = 0;

function send(frame) {
  if (ws.readyState !== ws.OPEN) {
    // ReconnectingWebSocket keeps frames sent while closed, up to maxEnqueuedMessages; past that it drops them.
    log.warn('Link down: frame queued or dropped (queue bound ' + MAX_PENDING_FRAMES + ')',
      { type: frame.type, channel: frame.channel, callback: frame.callback });
  }
  ws.send(JSON.stringify(frame));
}

async function transmit(channelName, remote, message) {
  await medplum.refreshIfExpired();
  send({
    type: 'agent:transmit:request',
    accessToken: medplum.getAccessToken(),
    channel: channelName,
    remote,
    contentType: ContentType.HL7_V2,
    body: message.toString(),
    callback: 'Agent/' + agentId + '-' + randomUUID(),
  });
}

function deliver(msg) {
  const conns = channels.get(msg.channel);
  const conn = conns?.get(msg.remote);
  if (!conn) {
    log.warn('Attempted to send message to disconnected remote: ' + msg.remote, { channel: msg.channel });
    return;
  }
  const reply = Hl7Message.parse(msg.body);
  log.info('[HL7:' + msg.channel + '] [Sending ACK -- ID: ' + reply.getSegment('MSA')?.getField(2)?.toString() + ']: '
    + reply.toString().replaceAll('\r', '\n'));
  conn.send(reply);
}

function onFrame(data) {
  let msg;
  try {
    msg = JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
    switch (msg.type) {
      case 'agent:connect:response':
      case 'connected':
        live = true;
        outstandingHeartbeats = 0;
        log.info('Successfully connected to Medplum server');
        break;
      case 'agent:heartbeat:request':
        outstandingHeartbeats = 0;
        send({ type: 'agent:heartbeat:response', version: VERSION });
        break;
      case 'agent:heartbeat:response':
        outstandingHeartbeats = 0;
        break;
      case 'agent:transmit:response':
      case 'transmit':
        if (msg.statusCode === undefined || msg.statusCode < 400) {
          deliver(msg);
        } else {
          // As the Medplum Agent: logged, nothing is sent to the device.
          log.error('Error during handling transmit request: ' + msg.body, { channel: msg.channel, callback: msg.callback });
        }
        break;
      case 'agent:error':
        log.error(String(msg.body), { callback: msg.callback });
        break;
      default:
        send({ type: 'agent:error', body: 'Unknown message type: ' + msg.type, callback: msg.callback });
    }
  } catch (err) {
    log.error('WebSocket error on incoming message: ' + err, { type: msg?.type, channel: msg?.channel });
    send({ type: 'agent:error', body: 'WebSocket error on incoming message: ' + err, callback: msg?.callback });
  }
}

async function startChannel(definition) {
  const endpoint = await medplum.readReference(definition.endpoint, { cache: 'no-cache' });
  const url = new URL(endpoint.address);
  if (url.protocol !== 'mllp:') {
    log.warn('Channel ' + definition.name + ': only mllp:// endpoints are served by this peer, not ' + endpoint.address);
    return;
  }
  if (url.searchParams.has('enhanced')) {
    log.warn('Channel ' + definition.name + ': enhanced mode is not implemented by this peer; running standard mode');
  }
  const conns = new Map();
  channels.set(definition.name, conns);
  const server = new Hl7Server((connection) => {
    const remote = connection.socket.remoteAddress + ':' + connection.socket.remotePort;
    conns.set(remote, connection);
    log.info('[HL7:' + definition.name + '] HL7 connection established: ' + remote);
    connection.addEventListener('message', (event) => {
      const id = event.message.getSegment('MSH')?.getField(10)?.toString() || 'not provided';
      log.info('[HL7:' + definition.name + '] [Received -- ID: ' + id + ']: ' + event.message.toString().replaceAll('\r', '\n'));
      transmit(definition.name, remote, event.message).catch((err) =>
        log.error('[HL7:' + definition.name + '] message ' + id + ' from ' + remote + ' not sent: ' + err));
    });
    connection.addEventListener('error', (event) =>
      log.error('[HL7:' + definition.name + '] connection ' + remote + ': ' + event.error));
    connection.addEventListener('close', () => {
      conns.delete(remote);
      log.info('[HL7:' + definition.name + '] HL7 connection closed: ' + remote);
    });
  });
  await server.start(Number.parseInt(url.port, 10), url.searchParams.get('encoding') ?? undefined, false);
  log.info('[HL7:' + definition.name + '] Listening on port ' + url.port);
}

async function main() {
  for (;;) {
    try {
      await medplum.startClientLogin(clientId, clientSecret);
      break;
    } catch (err) {
      log.error('Failed to login: ' + err);
      await new Promise((r) => setTimeout(r, 10_000));
    }
  }
  const wsUrl = new URL(baseUrl);
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:';
  wsUrl.pathname = '/ws/agent';
  ws = new ReconnectingWebSocket(wsUrl.toString(), undefined, { WebSocket, maxEnqueuedMessages: MAX_PENDING_FRAMES });
  ws.binaryType = 'nodebuffer';
  ws.addEventListener('message', (e) => onFrame(e.data));
  ws.addEventListener('close', () => { live = false; });
  ws.addEventListener('error', (e) => log.warn('WebSocket error: ' + (e.message ?? e.error ?? e.type)));
  await new Promise((resolve) => ws.addEventListener('open', () => {
    send({ type: 'agent:connect:request', accessToken: medplum.getAccessToken(), agentId });
    resolve();
  }));
  setInterval(() => {
    if (!live) return;
    if (outstandingHeartbeats > 1) {
      log.warn('Disconnected from Medplum server. Attempting to reconnect...');
      ws.reconnect();
      return;
    }
    outstandingHeartbeats++;
    send({ type: 'agent:heartbeat:request' });
  }, HEARTBEAT_MS).unref();

  const agent = await medplum.readResource('Agent', agentId, { cache: 'no-cache' });
  for (const definition of agent.channel ?? []) {
    await startChannel(definition);
  }
  log.info('Medplum service started successfully');
}

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
main().catch((err) => {
  log.error('Agent failed to start: ' + (err?.stack ?? err));
  process.exit(1);
});
