/**
 * The scenarios of issue 6: the seed's story (twilio-facts appendix) and the ways a real Flex call
 * departs from it. Each is a short script over {@link ScenarioContext}; every call ends with the
 * customer hanging up, so "the customer was never dropped before they hung up" is checkable.
 */
import type { AgentName, ScenarioContext } from './context.js';

/** One step of talk: long enough for several 100 ms detection windows of every voice. */
const STEP_MS = 1_000;

/** A scenario: its script and what the controller should make of it. */
export interface Scenario {
  readonly name: string;
  readonly summary: string;
  /** The agents whose segments the call should have, in order. */
  readonly segments: readonly AgentName[];
  /** Recordings expected per segment (1 + continuations), in segment order; default 1 each. */
  readonly recordingsPerSegment?: readonly number[];
  /** Agents to create, with the queues they serve ("Everyone" takes the customer's call). */
  readonly agents: readonly { name: AgentName; queues: readonly string[] }[];
  readonly run: (ctx: ScenarioContext) => Promise<void>;
}

const twoAgents = [
  { name: 'A', queues: ['Everyone'] },
  { name: 'B', queues: ['Support'] },
] as const;

/** Every scenario, by name. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'warm-transfer',
    summary: "the seed's five steps: A answers, warm-transfers to B, A leaves, B finishes",
    segments: ['A', 'B'],
    agents: twoAgents,
    async run(ctx) {
      await ctx.accept('A');
      await ctx.talk(STEP_MS);
      await ctx.transfer('A', 'B', 'WARM');
      await ctx.accept('B');
      // Flex held the customer for the transfer; B takes them off hold for a three-way talk.
      await ctx.hold('B', false);
      await ctx.talk(STEP_MS);
      await ctx.completeTransfer('A');
      await ctx.talk(STEP_MS);
      await ctx.hangupCustomer();
    },
  },
  {
    name: 'cold-transfer',
    summary: 'A answers and cold-transfers to B (A leaves at once, the customer waits on hold)',
    segments: ['A', 'B'],
    agents: twoAgents,
    async run(ctx) {
      await ctx.accept('A');
      await ctx.talk(STEP_MS);
      await ctx.transfer('A', 'B', 'COLD');
      await ctx.talk(STEP_MS / 2);
      await ctx.accept('B');
      await ctx.talk(STEP_MS);
      await ctx.hangupCustomer();
    },
  },
  {
    name: 'multi-hop',
    summary: 'A → B warm, B → C cold, C → D warm: four segments on one call',
    segments: ['A', 'B', 'C', 'D'],
    agents: [
      { name: 'A', queues: ['Everyone'] },
      { name: 'B', queues: ['Support'] },
      { name: 'C', queues: ['Support'] },
      { name: 'D', queues: ['Support'] },
    ],
    async run(ctx) {
      await ctx.accept('A');
      await ctx.talk(STEP_MS);
      await ctx.transfer('A', 'B', 'WARM');
      await ctx.accept('B');
      await ctx.hold('B', false);
      await ctx.completeTransfer('A');
      await ctx.talk(STEP_MS);
      await ctx.transfer('B', 'C', 'COLD');
      await ctx.accept('C');
      await ctx.talk(STEP_MS);
      await ctx.transfer('C', 'D', 'WARM');
      await ctx.accept('D');
      await ctx.hold('D', false);
      await ctx.completeTransfer('C');
      await ctx.talk(STEP_MS);
      await ctx.hangupCustomer();
    },
  },
  {
    name: 'customer-hangup-during-transfer',
    summary: 'A starts a warm transfer to B; the customer hangs up before B accepts',
    segments: ['A'],
    agents: twoAgents,
    async run(ctx) {
      await ctx.accept('A');
      await ctx.talk(STEP_MS);
      await ctx.transfer('A', 'B', 'WARM');
      await ctx.talk(STEP_MS / 2);
      await ctx.hangupCustomer();
    },
  },
  {
    name: 'first-agent-leaves-before-accept',
    summary: 'A starts a warm transfer to B and hangs up before B accepts; B then takes the call',
    segments: ['A', 'B'],
    agents: twoAgents,
    async run(ctx) {
      await ctx.accept('A');
      await ctx.talk(STEP_MS);
      await ctx.transfer('A', 'B', 'WARM');
      // With two participants Flex leaves A's endConferenceOnExit true: A's hang-up would end the
      // conference and drop the customer (emulator README "Accept", facts §6), so A's desktop
      // clears it first, as Flex itself does before a cold transfer.
      await ctx.keepConferenceWhenLeaving('A');
      await ctx.hangupAgent('A');
      await ctx.talk(STEP_MS / 2);
      await ctx.accept('B');
      await ctx.hold('B', false);
      await ctx.talk(STEP_MS);
      await ctx.hangupCustomer();
    },
  },
  {
    name: 'transfer-to-queue',
    summary: 'A cold-transfers to the Support queue; B, who serves it, takes the call',
    segments: ['A', 'B'],
    agents: twoAgents,
    async run(ctx) {
      await ctx.accept('A');
      await ctx.talk(STEP_MS);
      await ctx.transferToQueue('A', 'Support', 'COLD');
      await ctx.accept('B');
      await ctx.talk(STEP_MS);
      await ctx.hangupCustomer();
    },
  },
  {
    name: 'pause-resume',
    summary: 'A pauses recording while the customer reads a card number, then resumes',
    segments: ['A'],
    recordingsPerSegment: [2],
    agents: [{ name: 'A', queues: ['Everyone'] }],
    async run(ctx) {
      await ctx.accept('A');
      await ctx.talk(STEP_MS);
      await ctx.pause('A');
      await ctx.talk(STEP_MS);
      await ctx.resume('A');
      await ctx.talk(STEP_MS);
      await ctx.hangupCustomer();
    },
  },
  {
    name: 'hold-during-transfer',
    summary: 'A warm-transfers to B; A and B consult while the customer stays on hold, A leaves',
    segments: ['A', 'B'],
    agents: twoAgents,
    async run(ctx) {
      await ctx.accept('A');
      await ctx.talk(STEP_MS);
      await ctx.transfer('A', 'B', 'WARM');
      // B's stream starts while the customer is held: the twiml strategy must re-hold them.
      await ctx.accept('B');
      await ctx.talk(STEP_MS);
      await ctx.completeTransfer('A');
      await ctx.hold('B', false);
      await ctx.talk(STEP_MS);
      await ctx.hangupCustomer();
    },
  },
  {
    name: 'restart-mid-call',
    summary: "the controller restarts while A talks; the new one stops A's stream at A's wrap-up",
    segments: ['A', 'B'],
    agents: twoAgents,
    async run(ctx) {
      await ctx.accept('A');
      await ctx.talk(STEP_MS);
      await ctx.restartController();
      await ctx.talk(STEP_MS / 2);
      await ctx.transfer('A', 'B', 'WARM');
      await ctx.accept('B');
      await ctx.hold('B', false);
      await ctx.completeTransfer('A');
      await ctx.talk(STEP_MS);
      await ctx.hangupCustomer();
    },
  },
];

/** The scenario called `name`, or undefined. */
export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
