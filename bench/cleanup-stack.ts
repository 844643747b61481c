/**
 * Everything a bench starts is undone in reverse order, once, however often asked (a signal can
 * arrive while the bench is already cleaning up after a failure).
 */
export function createCleanupStack(): { onCleanup(fn: () => unknown): void; cleanUp(): Promise<void>; readonly started: boolean } {
  const cleanups: Array<() => unknown> = [];
  let cleaningUp: Promise<void> | undefined;
  return {
    onCleanup: (fn) => void cleanups.push(fn),
    cleanUp() {
      cleaningUp ??= (async () => {
        while (cleanups.length) {
          try {
            await cleanups.pop()!();
          } catch (err) {
            console.error(`bench cleanup: ${(err as Error).message}`);
          }
        }
      })();
      return cleaningUp;
    },
    get started() {
      return cleaningUp !== undefined;
    },
  };
}
