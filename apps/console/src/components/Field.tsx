import { type InputHTMLAttributes, type ReactNode, useId, useRef } from 'react';
import { useFocusOnMount } from '../lib/focus';

interface FieldProps extends Omit<InputHTMLAttributes<HTMLInputElement>, 'id' | 'onChange' | 'value'> {
  label: string;
  name: string;
  value: string;
  onValueChange(value: string): void;
  error?: string | undefined;
  hint?: string | undefined;
  /** Focus the input when it appears (the one field of a step the user just opened). */
  focusOnMount?: boolean;
}

/** A labelled input whose hint and error are announced with it. */
export function Field({ label, name, value, onValueChange, error, hint, className, focusOnMount = false, ...input }: FieldProps) {
  const id = useId();
  const ref = useRef<HTMLInputElement>(null);
  useFocusOnMount(ref, focusOnMount);
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={className ? `field ${className}` : 'field'}>
      <label htmlFor={id}>{label}</label>
      <input
        ref={ref}
        id={id}
        name={name}
        value={value}
        onChange={(event) => onValueChange(event.target.value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={describedBy}
        {...input}
      />
      {hint ? (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * A new password typed a second time, as password managers expect it (`new-password`). Its
 * error is the form's own check that both match: the server never sees this field.
 */
export function ConfirmPasswordField(props: { label: string; value: string; onValueChange(value: string): void; error: string | undefined }) {
  return <Field name="confirmPassword" type="password" autoComplete="new-password" required {...props} />;
}

interface ControlProps {
  label: string;
  error?: string | undefined;
  hint?: string | undefined;
  className?: string | undefined;
  children(props: { id: string; 'aria-invalid'?: true; 'aria-describedby'?: string }): ReactNode;
}

/** The label, hint and error of Field around any control (select, textarea, checkbox group). */
export function Control({ label, error, hint, className, children }: ControlProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={className ? `field ${className}` : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children({ id, ...(error ? { 'aria-invalid': true as const } : {}), ...(describedBy ? { 'aria-describedby': describedBy } : {}) })}
      {hint ? (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
