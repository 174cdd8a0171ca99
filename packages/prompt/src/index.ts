export { PromptCancelledError, promptHidden, promptVisible, readFirstLine } from './prompt';
