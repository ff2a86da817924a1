/** Asks yes/no on the terminal; Ctrl-C or Esc is a "no". Loaded only when a prompt is needed. */
export async function confirm(message: string): Promise<boolean> {
  const {confirm: ask} = await import('@inquirer/prompts')
  try {
    return await ask({message, default: false})
  } catch {
    return false // ExitPromptError (Ctrl-C) or a closed stdin: apply nothing.
  }
}

export async function select<T extends string>(message: string, choices: T[]): Promise<T | undefined> {
  const {select: ask} = await import('@inquirer/prompts')
  try {
    return await ask({message, choices: choices.map((value) => ({value, name: value}))})
  } catch {
    return undefined
  }
}
