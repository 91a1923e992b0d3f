/**
 * Receives a 5 MB message into a file while the process may write files of at most 1 MB (the test starts it under
 * `ulimit -f 1024`, as a full disk would fail): prints what came of it as one JSON line.
 */
import { readdirSync } from 'node:fs';
import { Readable } from 'node:stream';

import { IN_MEMORY_BYTES, receiveMessage, receivingFolder } from '../../../../core/smtp/receiving';

const pieces = Array.from({ length: 20 }, () => Buffer.alloc(IN_MEMORY_BYTES, 0x61));
const client = Readable.from(pieces, { objectMode: false });
let clientEnded = false;
client.once('end', () => (clientEnded = true));
receiveMessage(client, () => true).then(
	(received) => process.stdout.write(`${JSON.stringify({ error: null, size: received.size })}\n`),
	(error: NodeJS.ErrnoException) => process.stdout.write(`${JSON.stringify({ error: error.code, clientEnded, files: readdirSync(receivingFolder()).length })}\n`),
);
