/**
 * The few DOM helpers the page is built with. Every server-provided string goes in as text
 * or as an attribute value, never as markup.
 */

const SVG = 'http://www.w3.org/2000/svg'

/** Sets an attribute only when it changes; null, undefined and false remove it, true sets it empty. */
export const setAttr = (el, name, value) => {
  if (value === null || value === undefined || value === false) {
    if (el.hasAttribute(name)) el.removeAttribute(name)
    return
  }
  const text = value === true ? '' : String(value)
  if (el.getAttribute(name) !== text) el.setAttribute(name, text)
}

/** Sets an element's text only when it changes (a rewrite would drop a selection in it). */
export const setText = (el, text) => {
  if (el.textContent !== text) el.textContent = text
}

const build = (el, attrs, children) => {
  for (const [name, value] of Object.entries(attrs ?? {})) setAttr(el, name, value)
  for (const child of children) if (child !== null && child !== undefined && child !== false) el.append(child)
  return el
}

/** An HTML element with attributes and children (strings become text nodes). */
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children)

/** An SVG element with attributes and children. */
export const s = (tag, attrs, ...children) => build(document.createElementNS(SVG, tag), attrs, children)

/**
 * Makes `desired` the children of `parent`, in order, moving only when the order differs: a
 * node kept in place keeps its hover, focus and text selection.
 */
export const syncChildren = (parent, desired) => {
  const current = parent.children
  let same = current.length === desired.length
  for (let i = 0; same && i < desired.length; i++) same = current[i] === desired[i]
  if (!same) parent.replaceChildren(...desired)
}
