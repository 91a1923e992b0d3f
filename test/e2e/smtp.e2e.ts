import { smtpScenario } from './smtp-scenario';
import { e2eVersions, storeFor } from './support';

describe.each(e2eVersions())('n8n %s, regular mode: the SMTP forwarding template end to end', (version) => {
	smtpScenario({ version, mode: 'regular', store: storeFor(version) });
});
