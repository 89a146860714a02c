/** Small shared pieces: error boxes, confirmations, pagers, time formatting. */
import type { ComponentChildren } from 'preact';
import { useCallback, useRef, useState } from 'preact/hooks';
import { RpcError } from './rpc.ts';

/** Jack's refusal as the user sees it: its code and its own message. */
export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const text =
    error instanceof RpcError
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? error.message
        : String(error);
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

/** A destructive button that asks once more, inline, before it acts. */
export function ConfirmButton(props: {
  label: string;
  question: string;
  onConfirm: () => Promise<void> | void;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class="danger" onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  }
  return (
    <fieldset class="confirm">
      <legend>{props.question}</legend>
      <button
        type="button"
        class="danger"
        onClick={async () => {
          setAsking(false);
          await props.onConfirm();
        }}
      >
        Yes, {props.label.toLowerCase()}
      </button>{' '}
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </fieldset>
  );
}

/** Previous / next for page tokens: `tokens` is the stack of pages seen so far. */
export function Pager(props: {
  tokens: string[];
  next: string | undefined;
  onPage: (tokens: string[]) => void;
}) {
  return (
    <nav class="pager" aria-label="Pages">
      <button
        type="button"
        disabled={props.tokens.length <= 1}
        onClick={() => props.onPage(props.tokens.slice(0, -1))}
      >
        Previous page
      </button>
      <span>Page {props.tokens.length}</span>
      <button
        type="button"
        disabled={!props.next}
        onClick={() => props.onPage([...props.tokens, props.next as string])}
      >
        Next page
      </button>
    </nav>
  );
}

export function Section(props: { title: string; children: ComponentChildren }) {
  return (
    <section aria-label={props.title}>
      <h2>{props.title}</h2>
      {props.children}
    </section>
  );
}

/** A proto3 JSON timestamp as local date and time, or a dash. */
export function when(ts: string | undefined): string {
  if (!ts) return '—';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? ts : d.toLocaleString();
}

export const QUEUES = ['QUEUE_IMMEDIATE', 'QUEUE_HIGH', 'QUEUE_MEDIUM', 'QUEUE_LOW'] as const;
export const queueName = (q: string | undefined) =>
  (q ?? 'QUEUE_UNSPECIFIED').replace('QUEUE_', '').toLowerCase();

/**
 * For a list that reloads when its filter or page changes: `begin()` at the
 * start of each load returns `isLatest`, false once a newer load began. An
 * older answer arriving last (the first producer's job types after the
 * user picked another) is then dropped instead of shown under the new choice.
 */
export function useLatestLoad(): () => () => boolean {
  const counter = useRef(0);
  return useCallback(() => {
    const mine = ++counter.current;
    return () => mine === counter.current;
  }, []);
}
