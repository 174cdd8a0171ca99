import { useCallback, useState } from 'react';

/** How tightly the task lists are drawn: roomy rows with descriptions, or one line per task. */
export type Density = 'comfortable' | 'compact';

const STORAGE_KEY = 'stm-density';

function readDensity(): Density {
  try {
    return localStorage.getItem(STORAGE_KEY) === 'compact' ? 'compact' : 'comfortable';
  } catch {
    return 'comfortable'; // storage disabled
  }
}

/** The reader's choice, remembered in this browser. */
export function useDensity(): [Density, (density: Density) => void] {
  const [density, setDensity] = useState(readDensity);
  const choose = useCallback((next: Density) => {
    setDensity(next);
    try {
      if (next === 'compact') localStorage.setItem(STORAGE_KEY, next);
      else localStorage.removeItem(STORAGE_KEY);
    } catch {
      // Not remembered across visits; still switched for this one.
    }
  }, []);
  return [density, choose];
}
