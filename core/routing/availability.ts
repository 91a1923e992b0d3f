import type { AgentStore } from '../store/roles';
import type { Agent, Availability, WorkingHours } from '../store/types';

/** Why an agent can or cannot take a new conversation right now; `why` reads after the agent's email. */
export interface AvailabilityCheck {
	available: boolean;
	why: string;
}

type DayKey = keyof WorkingHours['days'];
const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function minutes(hhmm: string): number {
	const [h, m] = hhmm.split(':').map(Number);
	return h * 60 + (m || 0);
}

/** The weekday and minute of the day at `now` in the agent's time zone. */
function localTime(now: Date, timeZone: string): { day: number; minute: number; label: string } {
	const parts = new Intl.DateTimeFormat('en-US', {
		timeZone,
		weekday: 'short',
		hour: '2-digit',
		minute: '2-digit',
		hourCycle: 'h23',
	}).formatToParts(now);
	const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
	const hour = Number(get('hour')) % 24;
	const minute = Number(get('minute'));
	const weekday = get('weekday');
	return { day: WEEKDAYS[weekday], minute: hour * 60 + minute, label: `${weekday} ${get('hour')}:${get('minute')}` };
}

/** Inside the working hours at `now`; a day whose end is not after its start runs past midnight. */
export function insideWorkingHours(hours: WorkingHours, now: Date): { inside: boolean; local: string } {
	const { day, minute, label } = localTime(now, hours.timeZone);
	const today = hours.days[String(day) as DayKey];
	if (today) {
		const start = minutes(today.start);
		const end = minutes(today.end);
		if (end > start ? minute >= start && minute < end : minute >= start) return { inside: true, local: label };
	}
	const yesterday = hours.days[String((day + 6) % 7) as DayKey];
	if (yesterday && minutes(yesterday.end) <= minutes(yesterday.start) && minute < minutes(yesterday.end)) {
		return { inside: true, local: label };
	}
	return { inside: false, local: label };
}

/**
 * Available = status available AND inside working hours (when the agent has any)
 * AND under capacity (when the agent has one).
 */
export function checkAvailability(agent: Agent, now: Date, openConversations: number): AvailabilityCheck {
	if (!agent.active) return { available: false, why: 'is deactivated' };
	if (agent.availability !== 'available') return { available: false, why: 'is away' };
	if (agent.workingHours) {
		const { inside, local } = insideWorkingHours(agent.workingHours, now);
		if (!inside) return { available: false, why: `is outside working hours (${local} ${agent.workingHours.timeZone})` };
	}
	if (agent.capacity !== null && openConversations >= agent.capacity) {
		return { available: false, why: `is at capacity (${openConversations} open, capacity ${agent.capacity})` };
	}
	return { available: true, why: 'is available' };
}

/** What an agent's working hours call for at `now`: available inside them, away outside; null without working hours. */
export function availabilityFromWorkingHours(agent: Agent, now: Date): { availability: Availability; local: string } | null {
	if (!agent.workingHours) return null;
	const { inside, local } = insideWorkingHours(agent.workingHours, now);
	return { availability: inside ? 'available' : 'away', local: `${local} ${agent.workingHours.timeZone}` };
}

/** One agent the working-hours sync looked at: what it set, whether that changed anything, and why. */
export interface AvailabilitySync {
	id: string;
	email: string;
	availability: Availability;
	changed: boolean;
	reason: string;
}

/**
 * Sets every active agent with working hours available inside them and away outside (a schedule runs it);
 * agents without working hours are left as they are.
 */
export async function syncAvailabilityWithWorkingHours(store: AgentStore, now = new Date()): Promise<AvailabilitySync[]> {
	const results: AvailabilitySync[] = [];
	for (const agent of await store.listAgents({ active: true })) {
		const wanted = availabilityFromWorkingHours(agent, now);
		if (!wanted) continue;
		const changed = wanted.availability !== agent.availability;
		if (changed) await store.updateAgent(agent.id, { availability: wanted.availability });
		results.push({
			id: agent.id,
			email: agent.email,
			availability: wanted.availability,
			changed,
			reason: `${wanted.local} is ${wanted.availability === 'available' ? 'inside' : 'outside'} working hours`,
		});
	}
	return results;
}
