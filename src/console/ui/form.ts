import type { ParameterError } from './api.js';
import { h, replace, show, uid } from './dom.js';

/** One field of tracker/settings/tracking/profile (docs/api.md#trackersettingstrackingprofile). */
export interface FieldSpec {
  readonly name: string;
  readonly type: 'integer' | 'number' | 'string' | 'boolean' | 'enum' | 'array';
  readonly required: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly (string | number)[];
  readonly format?: string;
  readonly items?: { readonly type: string; readonly format?: string };
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly default?: unknown;
  readonly unit?: string;
  readonly required_if?: { readonly field: string; readonly equals: unknown };
}

export type Settings = Record<string, unknown>;

interface Control {
  readonly spec: FieldSpec;
  readonly input: HTMLInputElement | HTMLSelectElement;
  readonly error: HTMLElement;
}

const NUMBER = /^-?\d+(\.\d+)?$/;

/** What the form says about a field beside it: required, bounds, unit, allowed values, format. */
function hint(spec: FieldSpec): string {
  const parts: string[] = [];
  if (spec.required) parts.push('required');
  if (spec.required_if) parts.push(`required when ${spec.required_if.field} is ${show(spec.required_if.equals)}`);
  if (spec.min !== undefined && spec.max !== undefined) parts.push(`${spec.min}–${spec.max}`);
  else if (spec.min !== undefined) parts.push(`≥ ${spec.min}`);
  else if (spec.max !== undefined) parts.push(`≤ ${spec.max}`);
  if (spec.unit) parts.push(spec.unit);
  if (spec.values && spec.type !== 'enum') parts.push(`one of ${spec.values.join(', ')}`);
  if (spec.format) parts.push(`format ${spec.format}`);
  if (spec.type === 'array') {
    parts.push(`comma-separated ${spec.items?.type ?? 'values'}${spec.items?.format ? ` (${spec.items.format})` : ''}`);
    if (spec.minItems !== undefined || spec.maxItems !== undefined) parts.push(`${spec.minItems ?? 0}–${spec.maxItems ?? '∞'} items`);
  }
  if (spec.default !== undefined) parts.push(`default ${show(spec.default)}`);
  return parts.join(' · ');
}

function scalar(text: string, type: string): unknown {
  if ((type === 'integer' || type === 'number') && NUMBER.test(text)) return Number(text);
  if (type === 'boolean' && (text === 'true' || text === 'false')) return text === 'true';
  return text;
}

/** The input's text as the API value: numbers and booleans typed, anything else as typed (the API says what is wrong). */
function typedValue(control: Control): unknown {
  const text = control.input.value.trim();
  if (text === '') return undefined;
  const { spec } = control;
  if (spec.type === 'array') {
    return text
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '')
      .map((item) => scalar(item, spec.items?.type ?? 'string'));
  }
  return scalar(text, spec.type);
}

function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return value.map((item) => String(item)).join(', ');
  return String(value);
}

/**
 * A form generated from a tracking profile (docs/console.md#a-tracker): one labelled control per
 * field, its hint and its error beside it (linked by aria-describedby). `patch` is what the user
 * changed compared with the values it was filled with: what update and bulk_update take.
 */
export class SettingsForm {
  readonly element: HTMLElement;
  private readonly controls = new Map<string, Control>();
  private base: Settings = {};

  constructor(fields: readonly FieldSpec[]) {
    this.element = h('div', { class: 'fields' });
    for (const spec of fields) {
      const id = uid(`field-${spec.name}`);
      const hintId = `${id}-hint`;
      const errorId = `${id}-error`;
      let input: HTMLInputElement | HTMLSelectElement;
      if (spec.type === 'enum' || spec.type === 'boolean') {
        const values = spec.type === 'boolean' ? ['true', 'false'] : (spec.values ?? []).map(String);
        input = h('select', { id }, h('option', { value: '' }, '—'), ...values.map((value) => h('option', { value }, value)));
      } else {
        const numeric = spec.type === 'integer' || spec.type === 'number';
        input = h('input', {
          id,
          type: 'text',
          inputmode: numeric ? (spec.type === 'integer' ? 'numeric' : 'decimal') : undefined,
          placeholder: spec.format ?? (spec.items?.format ? `${spec.items.format}, …` : undefined),
          autocomplete: 'off',
          spellcheck: 'false',
        });
      }
      input.setAttribute('aria-describedby', `${hintId} ${errorId}`);
      if (spec.required) input.setAttribute('aria-required', 'true');
      const error = h('span', { id: errorId, class: 'error' });
      this.element.append(
        h(
          'div',
          { class: 'field' },
          h('label', { for: id }, spec.name),
          spec.required ? h('span', { class: 'required', 'aria-hidden': 'true' }, '*') : null,
          input,
          h('span', { id: hintId, class: 'hint' }, hint(spec)),
          error,
        ),
      );
      this.controls.set(spec.name, { spec, input, error });
    }
  }

  /** Fills the controls; `patch` is then measured against these values. */
  fill(values: Settings): void {
    this.base = values;
    for (const [name, control] of this.controls) control.input.value = textOf(values[name]);
    this.clearErrors();
  }

  /** The fields whose value differs from what the form was filled with (an emptied field is left as it was). */
  patch(): Settings {
    const patch: Settings = {};
    for (const [name, control] of this.controls) {
      const value = typedValue(control);
      if (value !== undefined && JSON.stringify(value) !== JSON.stringify(this.base[name])) patch[name] = value;
    }
    return patch;
  }

  set disabled(disabled: boolean) {
    for (const control of this.controls.values()) control.input.disabled = disabled;
  }

  clearErrors(): void {
    for (const control of this.controls.values()) {
      replace(control.error);
      control.input.removeAttribute('aria-invalid');
    }
  }

  /**
   * Puts each of the API's `errors` beside its field (`tracking_settings.<field>…`); returns the
   * ones that name no field of the form, for the caller to show. The first bad field gets focus.
   */
  showErrors(errors: readonly ParameterError[]): ParameterError[] {
    this.clearErrors();
    const rest: ParameterError[] = [];
    let first: Control | undefined;
    for (const error of errors) {
      const field = error.parameter.replace(/^tracking_settings\.?/, '').split(/[.[]/)[0] ?? '';
      const control = this.controls.get(field);
      if (control === undefined) {
        rest.push(error);
        continue;
      }
      const path = error.parameter.replace(/^tracking_settings\./, '');
      control.error.append(h('span', {}, path === field ? error.error : `${path}: ${error.error}`));
      control.input.setAttribute('aria-invalid', 'true');
      first ??= control;
    }
    first?.input.focus();
    return rest;
  }
}

/** A list of `changes` (history, dry runs): `field: old → new`. */
export function changesList(changes: Record<string, { old?: unknown; new?: unknown }> | undefined): HTMLElement {
  const entries = Object.entries(changes ?? {});
  if (entries.length === 0) return h('p', { class: 'muted' }, 'no changes');
  return h(
    'ul',
    { class: 'changes' },
    entries.map(([field, change]) =>
      h('li', {}, h('code', {}, field), ': ', 'old' in change ? `${show(change.old)} → ` : '', 'new' in change ? show(change.new) : '(removed)'),
    ),
  );
}
