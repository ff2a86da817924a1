/**
 * Every question knmesh asks goes through here (loaded only when a prompt is needed).
 * Ctrl-C (or Esc-less abort, or the terminal closing) at ANY prompt — the main "Apply?" and every
 * follow-up question — ends the verb: InterruptedError, exit 130, nothing applied. It is never
 * taken as an answer.
 */
import {InterruptedError} from '../errors.js'

async function asking<T>(ask: () => Promise<T>): Promise<T> {
  try {
    return await ask()
  } catch (error) {
    // ExitPromptError (Ctrl-C, the terminal closed), AbortPromptError, CancelPromptError.
    if (error instanceof Error && /PromptError$/.test(error.name)) throw new InterruptedError()
    throw error
  }
}

/** yes/no, "no" by default (or `def`). Throws InterruptedError (exit 130) on Ctrl-C. */
export async function confirm(message: string, def = false): Promise<boolean> {
  const {confirm: ask} = await import('@inquirer/prompts')
  return asking(() => ask({message, default: def}))
}

/** One of `choices`. Throws InterruptedError (exit 130) on Ctrl-C. */
export async function select<T extends string>(message: string, choices: T[]): Promise<T> {
  const {select: ask} = await import('@inquirer/prompts')
  return asking(() => ask({message, choices: choices.map((value) => ({value, name: value}))}))
}

/** A line of text. Throws InterruptedError (exit 130) on Ctrl-C. */
export async function input(message: string): Promise<string> {
  const {input: ask} = await import('@inquirer/prompts')
  return asking(() => ask({message}))
}
