import { type RefObject, useLayoutEffect } from 'react';

/**
 * What React's autoFocus did (focus once, when the element is committed), without the prop: for
 * the one control a dialog or step opened by the user is about. Inside a dialog that is opening,
 * the dialog's own showModal (which runs later) picks the first control, as before.
 */
export function useFocusOnMount(ref: RefObject<HTMLElement | null>, enabled = true) {
  useLayoutEffect(() => {
    if (enabled) ref.current?.focus();
    // Only at mount, as autoFocus.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
}
