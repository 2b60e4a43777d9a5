import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { fakeClient, renderAs } from '../test/util';
import { CapitalForm } from './CapitalForm';

describe('book capital', () => {
  it('confirms, then books once with a transfer id, and shows the new equity', async () => {
    const bookCapital = vi.fn(() => Promise.resolve({ transfer_id: 'x', amount: '500', equity: '10499.123456' }));
    const onDone = vi.fn();
    renderAs('admin', <CapitalForm botId="b" quote="USDT" onDone={onDone} />, fakeClient({ bookCapital }));
    const button = screen.getByTestId('book-capital') as HTMLButtonElement;
    fireEvent.change(screen.getByTestId('capital-amount'), { target: { value: '0' } });
    expect(button.disabled).toBe(true);
    fireEvent.change(screen.getByTestId('capital-amount'), { target: { value: '500' } });
    fireEvent.click(button);
    expect(screen.getByTestId('confirm-consequence').textContent).toContain('+500.00 USDT into b');
    expect(bookCapital).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId('confirm-ok'));
    expect((await screen.findByTestId('capital-result')).textContent).toBe('Booked +500.00 USDT; equity now 10,499.12 USDT.');
    expect(bookCapital).toHaveBeenCalledTimes(1);
    expect(bookCapital).toHaveBeenCalledWith('b', '500', expect.stringMatching(/^ui-/));
    expect(onDone).toHaveBeenCalled();
  });
});
