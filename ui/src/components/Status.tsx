/** Loading and error placeholders shared by every polled section, so failures look the same everywhere. */
/** Anything with a message; ApiError adds the HTTP status. */
export interface ShownError {
  message: string;
  status?: number;
}

/** Shows a spinner line while the first load runs, an error box when the last load failed. */
export function Status({ loading, error, hasData }: { loading: boolean; error: ShownError | null; hasData: boolean }) {
  if (error) {
    return (
      <div className="error" role="alert">
        {hasData ? 'Refresh failed (showing last data): ' : 'Could not load: '}
        {error.message}
        {error.status ? ` (HTTP ${error.status})` : ''}
      </div>
    );
  }
  if (loading && !hasData) return <div className="muted">Loading…</div>;
  return null;
}
