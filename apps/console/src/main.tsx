// Must stay the first import: it configures zod before any schema is built.
import './lib/zod-csp';
import { QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { ToastProvider } from './components/Toasts';
import { I18nProvider } from './i18n';
import { StepUpProvider } from './lib/step-up';
import { applyThemeChoice, readThemeChoice } from './lib/theme';
import { queryClient, session, TRPCProvider, trpcClient } from './lib/trpc';
import './styles/base.css';
import './styles/layout.css';
import './styles/components.css';
import './styles/tasks.css';
import './styles/projects.css';

// Before the first paint, so a reader who chose a scheme never sees the other flash by.
applyThemeChoice(readThemeChoice());

// Started before the first render so the cookie refresh overlaps loading React.
void session.restore();

const root = document.getElementById('root');
if (!root) throw new Error('#root is missing from index.html');

createRoot(root).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <I18nProvider>
          <ToastProvider>
            <StepUpProvider>
              <App />
            </StepUpProvider>
          </ToastProvider>
        </I18nProvider>
      </TRPCProvider>
    </QueryClientProvider>
  </StrictMode>,
);
