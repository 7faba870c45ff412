// Building the page's elements: text goes in as text nodes only, never as
// markup, so nothing a capture holds can become an element or a script.

/** An HTML element with attributes (`on…` are event listeners) and
 *  children (nodes, or text). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes (`on…` are event listeners) and, if
 *  given, its text. */
export function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

let canvas = null;

/** The width in CSS pixels of `text` drawn in `font` (a CSS font
 *  shorthand, as the style sheet gives it to the same text). */
export function measure(text, font) {
  canvas ??= document.createElement('canvas').getContext('2d');
  canvas.font = font;
  return canvas.measureText(text).width;
}
