// One line typed at a terminal in raw mode, for `ask`: the keys a shell's `read` honours (Enter,
// Backspace, Ctrl-U, Ctrl-C, Ctrl-D on an empty line), with other control keys and escape
// sequences (arrows) ignored. Raw mode is what lets a hidden answer (echo: false) go unechoed and
// Ctrl-C end the run at once, where a blocked read in the terminal's own line mode would wait for
// Enter. libuv's raw mode keeps output processing, so a written \n still reaches the screen as \r\n.

export interface LineState {
  text: string
  /**
   * Where in an escape sequence the line is: `esc` just after ESC, `csi`/`ss3` inside an arrow key's
   * `ESC [ D` or `ESC O H` (skipped); `none` otherwise.
   */
  escape: 'none' | 'esc' | 'csi' | 'ss3'
}

export type LineEnd = 'enter' | 'end-of-input' | 'interrupt'

export interface LineStep {
  state: LineState
  /** What to write back to the terminal (nothing when the answer is hidden). */
  echo: string
  end?: LineEnd
}

export const EMPTY_LINE: LineState = { text: '', escape: 'none' }

const ERASE = '\b \b'

/** Applies typed characters to the line; stops at the first that ends it. */
export function editLine(state: LineState, typed: string, isEchoed: boolean): LineStep {
  let { text, escape } = state
  let echo = ''
  const show = (written: string) => {
    if (isEchoed) echo += written
  }
  for (const char of typed) {
    // A control key always counts, even inside a sequence: a stray Esc must not swallow Enter or Ctrl-C.
    if (escape !== 'none' && char >= ' ' && char !== '\x7f') {
      if (escape === 'esc') escape = char === '[' ? 'csi' : char === 'O' ? 'ss3' : 'none'
      // A CSI sequence ends at its final byte (0x40-0x7E: `D`, `~`); SS3 at the one character after O.
      else if (escape === 'ss3' || (char >= '@' && char <= '~')) escape = 'none'
      continue
    }
    escape = 'none'
    switch (char) {
      case '\r':
      case '\n':
        return { state: { text, escape }, echo: echo + '\n', end: 'enter' }
      case '\x03':
        return { state: { text, escape }, echo: echo + '^C\n', end: 'interrupt' }
      case '\x04':
        if (text === '') return { state: { text, escape }, echo: echo + '\n', end: 'end-of-input' }
        break
      case '\x7f':
      case '\b': {
        const chars = [...text]
        if (chars.length === 0) break
        text = chars.slice(0, -1).join('')
        show(ERASE)
        break
      }
      case '\x15':
        show(ERASE.repeat([...text].length))
        text = ''
        break
      case '\x1b':
        escape = 'esc'
        break
      default:
        if (char < ' ') break
        text += char
        show(char)
    }
  }
  return { state: { text, escape }, echo }
}
