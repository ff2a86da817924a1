import {UsageError} from '../errors.js'

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Namespace names: RFC 1123 labels, as the API server requires. Checked before any request. */
export function validateLabelName(name: string, what = 'namespace'): string {
  if (!name || name.length > 63 || !DNS1123_LABEL.test(name)) {
    throw new UsageError(
      `invalid ${what} name "${name}": must be at most 63 lowercase letters, digits or '-', starting and ending with a letter or digit`,
    )
  }
  return name
}

/** Object names (Services, Secrets…): RFC 1123 subdomains. */
export function validateObjectName(name: string, what = 'name'): string {
  if (!name || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) {
    throw new UsageError(`invalid ${what} "${name}": must be lowercase letters, digits, '-' or '.', starting and ending with a letter or digit`)
  }
  return name
}

/** Splits "a,b c" lists given to flags or arguments; drops blanks; keeps order; removes repeats. */
export function splitList(values: string[] | string | undefined): string[] {
  const all = (Array.isArray(values) ? values : values ? [values] : []).flatMap((v) => v.split(/[,\s]+/)).filter(Boolean)
  return [...new Set(all)]
}
