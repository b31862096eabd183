import { XMLBuilder } from 'fast-xml-parser';

// fast-xml-parser escapes & < > " ' in text and attribute values. What it cannot do is make
// text that XML forbids outright legal, so those characters are dropped first (documented in
// docs/protocol.md): C0 controls other than TAB/LF/CR, U+FFFE/U+FFFF and lone surrogates.
const ILLEGAL_XML_CHARS = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** A name usable as an XML element local name (no colon: that would claim a namespace prefix). */
const XML_NAME = /^[A-Za-z_][A-Za-z0-9._-]{0,127}$/;

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  processEntities: true,
  suppressEmptyNode: false,
});

export type XmlNode = { [name: string]: XmlValue };
export type XmlValue = string | XmlNode | XmlValue[];

export function xmlText(value: string): string {
  return value.replace(ILLEGAL_XML_CHARS, '');
}

export function isXmlName(name: string): boolean {
  return XML_NAME.test(name);
}

/** Serialises a tree whose text values went through xmlText(); the builder escapes markup. */
export function buildXml(tree: XmlNode): string {
  return builder.build(tree) as string;
}
