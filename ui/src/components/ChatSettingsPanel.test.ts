import { describe, expect, it } from 'vitest';
import { chatUpdate, parseChatIds } from './ChatSettingsPanel';

describe('chat settings form', () => {
  it('reads chat ids and refuses anything that is not an integer', () => {
    expect(parseChatIds('123, -100456  789')).toEqual([123, -100456, 789]);
    expect(parseChatIds('12a')).toBeNull();
    expect(parseChatIds('99999999999999999999')).toBeNull();
  });

  it('sends only the fields typed in', () => {
    expect(chatUpdate({ token: ' 1:abc ', secret: '', chats: '', url: '' })).toEqual({ bot_token: '1:abc' });
    expect(chatUpdate({ token: '', secret: 's', chats: '5', url: 'http://x' })).toEqual({
      webhook_secret: 's',
      allowed_chat_ids: [5],
      api_base_url: 'http://x',
    });
    expect(chatUpdate({ token: '', secret: '', chats: 'x', url: '' })).toBe('chat ids are integers separated by commas');
  });
});
