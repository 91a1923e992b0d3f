import { OutboundError } from './errors';
import { headerText } from './validate';

/** The documented from-name choices: the sending agent plus the company, or the company only. */
export type FromNameStyle = 'agentAndCompany' | 'company';

export interface FromNameSetting {
	style: FromNameStyle;
	companyName: string;
	/** Between the agent's name and the company, " at " by default ("Ana Lopez at Acme Support"). */
	separator?: string;
}

export const DEFAULT_FROM_NAME_SEPARATOR = ' at ';

function checkedSetting(setting: FromNameSetting): { companyName: string; separator: string } {
	const companyName = headerText('Company name', setting.companyName);
	if (!companyName) throw new OutboundError('invalid-header', 'Company name is empty: the from-name needs it in both styles');
	// The separator keeps its spaces on purpose (" at ", " | "), so it is checked but not trimmed.
	const separator = setting.separator ?? DEFAULT_FROM_NAME_SEPARATOR;
	headerText('From-name separator', separator);
	return { companyName, separator };
}

/** The from-name the contact sees for a message sent by this agent. */
export function composeFromName(setting: FromNameSetting, agentFullName: string): string {
	const { companyName, separator } = checkedSetting(setting);
	if (setting.style === 'company') return companyName;
	const agent = headerText("Agent's full name", agentFullName);
	return agent ? `${agent}${separator}${companyName}` : companyName;
}

/**
 * The from-name as the inbox registers it in the store: one from-name serves one hosted address,
 * and with the agent style what identifies the inbox is the company part, whoever sends.
 */
export function registeredFromName(setting: FromNameSetting): string {
	const { companyName, separator } = checkedSetting(setting);
	return setting.style === 'company' ? companyName : `<agent>${separator}${companyName}`;
}
