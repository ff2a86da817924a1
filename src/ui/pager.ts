import {spawn} from 'node:child_process'

/**
 * Shows `text` through `command` (run by /bin/sh, as git runs its pager), waiting for
 * the pager to quit. As git does, LESS defaults to FRX (quit when it fits one screen,
 * keep colours, leave the text on the screen) and LV to -c. Ctrl-C while the pager
 * runs goes to the pager, not knmesh.
 *
 * Returns false when the pager could not be started (not found: exit 127, or spawn
 * error): the caller then prints the text itself. Never throws.
 */
export async function page(text: string, command: string): Promise<boolean> {
  const ignore = () => {}
  process.on('SIGINT', ignore)
  try {
    return await new Promise<boolean>((resolve) => {
      const child = spawn(command, {
        shell: true,
        stdio: ['pipe', 'inherit', 'inherit'],
        env: {...process.env, LESS: process.env.LESS ?? 'FRX', LV: process.env.LV ?? '-c'},
      })
      child.on('error', () => resolve(false))
      // The user may quit before reading everything: EPIPE is not an error.
      child.stdin.on('error', () => {})
      child.on('close', (code) => resolve(code !== 127 && code !== 126))
      child.stdin.end(text.endsWith('\n') ? text : text + '\n')
    })
  } finally {
    process.off('SIGINT', ignore)
  }
}
